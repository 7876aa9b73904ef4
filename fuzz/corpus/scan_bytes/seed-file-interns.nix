{ lib, ... }:

{
  users.users = lib.mkMerge [
    { judy.isNormalUser = true; }
    { judy.extraGroups = [ "wheel" ]; }
  ];
}
