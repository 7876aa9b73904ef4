{ ... }:
{
  imports = [
    ./hardware-configuration.nix
    ../../users/alice
  ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  networking.hostName = "laptop";
  networking.networkmanager.enable = true;
  services.tlp.enable = true;

  # webcam + backlight control
  users.users.alice.extraGroups = [ "video" ];

  system.stateVersion = "24.05";
}
