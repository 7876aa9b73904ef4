{ ... }:
{
  networking.hostName = "ganymede";

  users.users.guest = {
    isNormalUser = true;
    description = "Guest";
  };

  system.stateVersion = "24.11";
}
