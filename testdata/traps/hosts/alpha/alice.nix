{ lib, ... }:

let
  keys = import ../../keys.nix;
  adminGroups = [ "wheel" "adm" ];
in
{
  users.users.alice.isNormalUser = true;
  users.users.alice.extraGroups = adminGroups;
  users.users.alice.openssh.authorizedKeys.keys = with keys; [ alice.laptop ];
}
