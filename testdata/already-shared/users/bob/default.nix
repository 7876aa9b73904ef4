# Bob left; kept around in case he comes back.
{ pkgs, ... }:
{
  users.users.bob = {
    isNormalUser = true;
    extraGroups = [ "networkmanager" ];
    shell = pkgs.fish;
  };
}
