{ ... }:

{
  services.openssh.enable = true;

  users.users.ops = {
    isNormalUser = true;
    extraGroups = [ "wheel" ];
  };
}
