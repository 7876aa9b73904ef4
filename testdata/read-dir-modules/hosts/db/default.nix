{ ... }:
{
  networking.hostName = "db";

  users.users.ofborg = {
    isNormalUser = true;
    description = "Builds pull requests";
  };

  system.stateVersion = "24.11";
}
