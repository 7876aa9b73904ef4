{ config, lib, pkgs, ... }:

let
  username = "alice";
in
{
  imports = [
    ./hardware-configuration.nix
    ./team.nix
    ./remote.nix
  ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;
  networking.hostName = "alpha";

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
