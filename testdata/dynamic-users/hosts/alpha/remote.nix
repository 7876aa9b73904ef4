{ lib, ... }:
{
  users.users = lib.mapAttrs (n: v: {
    isNormalUser = true;
    openssh.authorizedKeys.keys = v.keys;
  }) (import ../../people.nix);
}
