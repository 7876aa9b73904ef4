{ config, lib, pkgs, ... }:

let
  username = "alice";
in
{
  imports = [
    ./hardware-configuration.nix
    ./people.nix
  ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;
  networking.hostName = "beta";

  users.users.${username} = {
    isNormalUser = true;
  };

  users.users.erin = {
    isNormalUser = true;
    description = "Erin";
    extraGroups = [ "wheel" ];
  };

  system.stateVersion = "24.05";
}
