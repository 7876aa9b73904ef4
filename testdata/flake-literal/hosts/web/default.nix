{ config, lib, pkgs, ... }:

{
  imports = [ ./hardware-configuration.nix ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  networking.hostName = "web";
  networking.firewall.allowedTCPPorts = [ 80 443 ];

  services.openssh.enable = true;
  services.nginx = {
    enable = true;
    recommendedTlsSettings = true;
    recommendedProxySettings = true;
  };

  users.users.erin = {
    isNormalUser = true;
    description = "Erin";
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFdnXsiVpzz63FfkCzJr4i0B3JrTAwR4y erin@laptop"
    ];
  };

  users.users.root.openssh.authorizedKeys.keys = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI9ojfljoQoaF1LlqsajAIxNKu8iS2G8NP admin@bastion"
  ];

  system.stateVersion = "24.05";
}
