# A FreeBSD box, built with nixbsd: not NixOS.
{ ... }:
{
  networking.hostName = "bsd-box";
  boot.loader.stand-freebsd.enable = true;

  users.users.rune = {
    isNormalUser = true;
    description = "Rune";
  };
}
