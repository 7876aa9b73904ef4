# Site options. `my.users.<feature> = true` turns on what the people on a
# machine need; it is not a list of users.
{ config, lib, ... }:

{
  options.my.users = lib.mkOption {
    type = lib.types.attrsOf lib.types.bool;
    default = { };
    description = "Per-machine features the local users need.";
  };

  config = lib.mkIf (config.my.users.storage or false) {
    services.nfs.server.enable = true;
  };
}
