{ config, pkgs, ... }:

{
  imports = [ ./hardware-configuration.nix ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  services.openssh.enable = true;

  users.users.carol = {
    isNormalUser = true;
    description = "Carol";
    extraGroups = [ "dialout" ];
  };

  system.stateVersion = "24.05";
}
