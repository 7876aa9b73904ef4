{ config, pkgs, ... }:

{
  imports = [ ./hardware-configuration.nix ];

  networking.hostName = "web";
  services.nginx.enable = true;

  users.users.mira = {
    isNormalUser = true;
    description = "Mira Okafor";
    extraGroups = [ "wheel" "nginx" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB2miraWorkLaptopKey7dQpXc4Vn9sLe mira@work"
    ];
  };

  system.stateVersion = "24.05";
}
