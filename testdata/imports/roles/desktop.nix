{ config, lib, pkgs, ... }:

{
  imports = [ ../common ];

  services.xserver.enable = true;
  services.xserver.desktopManager.gnome.enable = true;

  users.users.carol = {
    isNormalUser = true;
    extraGroups = [ "networkmanager" "audio" ];
  };
}
