{ config, pkgs, lib, ... }:

{
  imports = [
    ./hardware-configuration.nix
    ../../users/gina
  ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  networking.hostName = "laptop";

  services.openssh.enable = true;
  networking.networkmanager.enable = true;
  services.tlp.enable = true;

  system.stateVersion = "24.05";
}
