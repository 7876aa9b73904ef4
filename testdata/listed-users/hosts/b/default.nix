{ ... }:
{
  users.users.zed = {
    isNormalUser = true;
    description = "Zed";
  };
}
