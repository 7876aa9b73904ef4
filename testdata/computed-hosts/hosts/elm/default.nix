{ ... }:

{
  imports = [ ./hardware-configuration.nix ];
  networking.hostName = "elm";

  users.users.lena = {
    isNormalUser = true;
    extraGroups = [ "wheel" ];
  };

  system.stateVersion = "24.05";
}
