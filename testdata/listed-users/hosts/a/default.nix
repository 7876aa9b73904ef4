{ ... }:
{
  # Everyone in users/ has an account here.
  imports = map (n: ../../users + "/${n}") (builtins.attrNames (builtins.readDir ../../users));
}
