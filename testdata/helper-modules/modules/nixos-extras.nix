# What every NixOS box gets beside linux.nix.
{ ... }:
{
  services.fstrim.enable = true;
}
