{ ... }:
{
  users.users.ci = {
    isNormalUser = true;
    description = "CI runner";
  };
}
