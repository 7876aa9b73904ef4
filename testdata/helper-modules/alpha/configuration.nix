{ config, pkgs, ... }:

{
  imports = [ ./hardware-configuration.nix ];

  boot.loader.systemd-boot.enable = true;
  networking.hostName = "alpha";

  users.users.sam = {
    isNormalUser = true;
    uid = 1000;
    extraGroups = [ "wheel" "video" ];
  };

  system.stateVersion = "24.05";
}
