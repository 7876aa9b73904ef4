{ lib, ... }:

let
  people = [
    { login = "bob"; fullName = "Bob"; }
    { login = "carol"; fullName = "Carol"; }
  ];
in
{
  users.users = builtins.listToAttrs (map (p: {
    name = p.login;
    value = {
      isNormalUser = true;
      description = p.fullName;
    };
  }) people);
}
