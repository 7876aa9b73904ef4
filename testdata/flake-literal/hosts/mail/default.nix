{ config, lib, pkgs, ... }:

{
  imports = [ ./hardware-configuration.nix ];

  boot.loader.grub.enable = true;
  boot.loader.grub.device = "/dev/vda";

  networking.hostName = "mail";
  networking.firewall.allowedTCPPorts = [ 25 465 993 ];

  services.openssh.enable = true;
  services.postfix.enable = true;
  services.dovecot2.enable = true;

  users.users.root.openssh.authorizedKeys.keys = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI9ojfljoQoaF1LlqsajAIxNKu8iS2G8NP admin@bastion"
  ];

  system.stateVersion = "24.05";
}
