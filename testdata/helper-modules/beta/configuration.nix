{ config, pkgs, ... }:

{
  imports = [ ./hardware-configuration.nix ];

  boot.loader.systemd-boot.enable = true;
  networking.hostName = "beta";

  users.users.sam = {
    isNormalUser = true;
    uid = 1000;
    extraGroups = [ "wheel" "audio" ];
  };

  system.stateVersion = "24.05";
}
