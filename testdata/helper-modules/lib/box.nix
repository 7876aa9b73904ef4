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
  # The platform's own extras: modules/nixos-extras.nix here.
  modules = [
    ../modules/linux.nix
    ../modules/${if darwin then "darwin" else "nixos"}-extras.nix
  ] ++ modules;
}
