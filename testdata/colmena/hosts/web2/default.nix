{ config, lib, pkgs, ... }:

{
  imports = [ ./hardware-configuration.nix ];

  boot.loader.grub.enable = true;
  boot.loader.grub.device = "/dev/sda";

  networking.hostName = "web2";

  services.nginx.enable = true;
  networking.firewall.allowedTCPPorts = [ 80 443 ];

  # Carol is on call for the whole cluster.
  users.users.carol = {
    isNormalUser = true;
    description = "Carol";
    extraGroups = [ "wheel" "systemd-journal" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICsMehGAkWvj7FAc9QeWJKY40uvSwMFLZ carol@work"
    ];
  };

  system.stateVersion = "24.05";
}
