{ ... }:
{
  programs.steam.enable = true;

  users.users.steam-runner = {
    isSystemUser = true;
    group = "steam-runner";
  };
  users.groups.steam-runner = { };
}
