# nix-darwin, not NixOS: users.users here has nix-darwin's options.
{ ... }:
{
  nixpkgs.hostPlatform = "aarch64-darwin";

  users.users.ana = {
    home = "/Users/ana";
    description = "Ana Costa";
  };

  system.stateVersion = 5;
}
