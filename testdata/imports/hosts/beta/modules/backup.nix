{ pkgs, ... }:
{
  services.restic.backups.home = {
    paths = [ "/home" ];
    repository = "sftp:backup@gamma:/srv/restic";
    passwordFile = "/etc/nixos/secrets/restic";
  };

  users.users.dave = {
    isNormalUser = true;
    description = "Dave (backups)";
  };
}
