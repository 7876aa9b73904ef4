{ ... }:

{
  nix.settings.trusted-users = [ "build" ];
  services.openssh.enable = true;

  users.users.build = {
    isNormalUser = true;
    description = "remote builds";
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7c4nQw2xR8tY5uI1oP6aS3dF9gH0jK2lZ queue@ci"
    ];
  };
}
