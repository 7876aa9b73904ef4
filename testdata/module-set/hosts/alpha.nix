{ ... }:
{
  networking.hostName = "alpha";

  users.users.ci = {
    isNormalUser = true;
    description = "CI runner";
  };

  system.stateVersion = "24.11";
}
