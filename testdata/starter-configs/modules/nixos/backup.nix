{ ... }:
{
  users.users.restic = {
    isSystemUser = true;
    group = "restic";
  };
  users.groups.restic = { };
}
