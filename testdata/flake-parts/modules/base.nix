{ lib, ... }:

{
  services.openssh.enable = true;
  nix.settings.trusted-users = [ "root" "@wheel" ];

  # The on-call account, the same everywhere.
  users.users.oncall = {
    isNormalUser = true;
    extraGroups = [ "wheel" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx9oncallPagerKeyQ3mWz0Lr8aT5e2vB oncall@pager"
    ];
  };
}
