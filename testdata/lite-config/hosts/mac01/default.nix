# nix-darwin, not NixOS: users.users here has nix-darwin's options.
{ ... }:
{
  users.users.kim = {
    home = "/Users/kim";
    description = "Kim Berg";
  };

  system.stateVersion = 5;
}
