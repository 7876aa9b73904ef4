{ ... }:
{
  users.users.mihai = {
    isNormalUser = true;
    extraGroups = [ "wheel" ];
  };
}
