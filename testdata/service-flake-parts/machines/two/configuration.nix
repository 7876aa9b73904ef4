{ config, pkgs, lib, ... }:

{
  imports = [
    ./hardware-configuration.nix
  ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  networking.hostName = "two";

  services.openssh.enable = true;
  services.pipewire.enable = true;

  users.users.erin = {
    isNormalUser = true;
    description = "Erin Example";
    extraGroups = [ "wheel" "audio" ];
  };

  system.stateVersion = "24.05";
}
