{ ... }:
{
  imports = [
    ./hardware-configuration.nix
    ../../users/alice
  ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  networking.hostName = "desktop";
  networking.networkmanager.enable = true;

  system.stateVersion = "24.05";
}
