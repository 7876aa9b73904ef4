{ pkgs, ... }:

{
  boot.loader.grub.device = "/dev/sda";
  fileSystems."/" = {
    device = "/dev/sda1";
    fsType = "ext4";
  };
  networking.hostName = "alpha";

  users.users.ines = {
    isNormalUser = true;
    description = "Ines";
    extraGroups = [ "wheel" "video" ];
  };

  system.stateVersion = "24.05";
}
