{ config, pkgs, ... }:

{
  users.users.bob = {
    isNormalUser = true
    extraGroups = [ "docker" ];
  };
}
