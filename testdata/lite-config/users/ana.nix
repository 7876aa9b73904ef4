{ lib, ... }:
let
  userLib = import ./lib.nix { inherit lib; };
in
{
  users.users.ana = {
    isNormalUser = true;
    extraGroups = [ "wheel" ];
    openssh.authorizedKeys.keyFiles = [ ./keys/ana ];
    uid = userLib.mkUid 1;
  };
}
