{ pkgs, ... }:

{
  imports = [ ../server-common.nix ];

  fileSystems."/" = {
    device = "/dev/disk/by-label/nixos";
    fsType = "ext4";
  };
  networking.hostName = "hel";

  users.users.rune = {
    isNormalUser = true;
    description = "Rune";
    extraGroups = [ "wheel" ];
  };

  system.stateVersion = "24.05";
}
