{ pkgs, ... }:

{
  boot.loader.systemd-boot.enable = true;
  fileSystems."/" = {
    device = "/dev/disk/by-label/nixos";
    fsType = "ext4";
  };
  networking.hostName = "old-nas";

  users.users.rune = {
    isNormalUser = true;
    description = "Rune";
    extraGroups = [ "wheel" ];
  };

  # The media account only the NAS had.
  users.users.media = {
    isNormalUser = true;
    extraGroups = [ "video" ];
  };

  system.stateVersion = "24.05";
}
