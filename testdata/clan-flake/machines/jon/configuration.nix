{ config, pkgs, ... }:

{
  imports = [ ./hardware-configuration.nix ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  services.openssh.enable = true;

  # jon runs the print server for the office
  services.printing.enable = true;
  users.users.bob = {
    isNormalUser = true;
    extraGroups = [ "lp" ];
  };

  system.stateVersion = "24.05";
}
