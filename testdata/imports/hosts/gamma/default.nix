{ config, lib, pkgs, ... }:

{
  imports = [
    ./hardware-configuration.nix
    ./missing.nix
    ../../common
  ];

  boot.loader.grub.enable = true;
  boot.loader.grub.device = "/dev/sda";
  networking.hostName = "gamma";

  users.users.erin = {
    isNormalUser = true;
    description = "Erin";
    extraGroups = [ "dialout" "plugdev" ];
  };

  system.stateVersion = "24.05";
}
