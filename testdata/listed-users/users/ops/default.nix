{ ... }:
{
  users.users.ops.isNormalUser = true;
}
