{ pkgs, ... }:

{
  imports = [ ./hardware-configuration.nix ];

  networking.hostName = "beta";

  users.users.ines = {
    isNormalUser = true;
    description = "Ines";
    extraGroups = [ "wheel" ];
  };

  system.stateVersion = "24.05";
}
