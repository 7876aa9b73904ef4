# Small always-on boxes: the linux module first, then the box's own.
{ inputs, lib }:

{ modules, system ? "x86_64-linux", darwin ? false }:

let
  # The one mac mini is built the same way.
  systemFunc = if darwin then inputs.nix-darwin.lib.darwinSystem else lib.nixosSystem;
in
systemFunc {
  inherit system;
  specialArgs = { inherit inputs; };
  modules = [ ../modules/linux.nix ] ++ modules;
}
