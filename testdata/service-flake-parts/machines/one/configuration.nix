{ config, pkgs, lib, ... }:

{
  imports = [
    ./hardware-configuration.nix
  ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  networking.hostName = "one";

  services.openssh.enable = true;
  services.pipewire.enable = true;
  environment.systemPackages = [ pkgs.ardour ];

  users.users.erin = {
    isNormalUser = true;
    description = "Erin Example";
    extraGroups = [ "wheel" "audio" ];
  };

  system.stateVersion = "24.05";
}
