{ pkgs, ... }:

{
  imports = [ ../server-common.nix ];

  fileSystems."/" = {
    device = "/dev/disk/by-label/nixos";
    fsType = "ext4";
  };
  networking.hostName = "osl";

  users.users.rune = {
    isNormalUser = true;
    description = "Rune";
    extraGroups = [ "wheel" ];
  };

  system.stateVersion = "24.05";
}
