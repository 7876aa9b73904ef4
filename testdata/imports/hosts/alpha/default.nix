{ config, lib, pkgs, ... }:

{
  imports = [ ./hardware-configuration.nix ../../roles/server.nix ] ++ lib.optionals false [ ../../roles/desktop.nix ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;
  networking.hostName = "alpha";

  users.users.erin = {
    isNormalUser = true;
    description = "Erin";
    extraGroups = [ "dialout" ];
  };

  system.stateVersion = "24.05";
}
