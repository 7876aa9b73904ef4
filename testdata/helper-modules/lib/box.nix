# Small always-on boxes: the linux module first, then the box's own.
{ inputs, lib }:

{ modules, system ? "x86_64-linux" }:

lib.nixosSystem {
  inherit system;
  specialArgs = { inherit inputs; };
  modules = [ ../modules/linux.nix ] ++ modules;
}
