# Every Linux host: the on-call account, and everyone with a file in users/.
{ inputs, lib, ... }:
let
  usersDir = "${inputs.self}/users";
  userFiles = builtins.filter (f: lib.hasSuffix ".nix" f && f != "lib.nix") (
    lib.attrNames (builtins.readDir usersDir)
  );
in
{
  imports = map (f: usersDir + "/${f}") userFiles;

  users.users.oncall = {
    isNormalUser = true;
    extraGroups = [ "systemd-journal" ];
  };
}
