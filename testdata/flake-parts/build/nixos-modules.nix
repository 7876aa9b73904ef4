# NixOS modules this flake exports; the hosts use them too.
{
  flake.nixosModules.base = ../modules/base.nix;
}
