{ ... }:

{
  services.openssh.enable = true;
  nix.gc.automatic = true;

  # Backups log in here on every box.
  users.users.backup = {
    isSystemUser = true;
    group = "backup";
  };
  users.groups.backup = { };
}
