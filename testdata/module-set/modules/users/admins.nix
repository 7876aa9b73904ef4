{ ... }:
{
  users.users.joerg = {
    isNormalUser = true;
    extraGroups = [ "wheel" ];
  };
}
