# Tiny service wrapper; `extraUsers` is its own option, not users.extraUsers.
{ config, lib, ... }:

{
  options.services.foo.extraUsers = lib.mkOption {
    type = lib.types.listOf lib.types.str;
    default = [ ];
    description = "Accounts allowed to talk to foo.";
  };

  config.services.foo.extraUsers = [ "x" ];
}
