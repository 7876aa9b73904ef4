# Every Mac: an admin account with nix-darwin's options.
{ ... }:
{
  users.users.macadmin = {
    home = "/Users/macadmin";
    uid = 501;
  };
}
