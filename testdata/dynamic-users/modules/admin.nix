# `username` comes from specialArgs in flake.nix.
{ username, ... }:
{
  users.users.${username}.extraGroups = [ "wheel" ];
}
