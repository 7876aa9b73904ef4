{ lib, ... }:

let
  keys = import ./keys.nix;
in
{
  users.users.alice.isNormalUser = true;
  users.users.alice.extraGroups = [ "adm" "wheel" ];
  users.users.alice.openssh.authorizedKeys.keys = with keys; [ alice.laptop ];
}
