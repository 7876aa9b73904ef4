{ ... }:
{
  networking.hostName = "beta";

  users.users.ci = {
    isNormalUser = true;
    description = "CI runner";
  };

  system.stateVersion = "24.11";
}
