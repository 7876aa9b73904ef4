{ lib, ... }:
{
  users.users = lib.genAttrs [ "bob" "carol" ] (name: { isNormalUser = true; });
}
