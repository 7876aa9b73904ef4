# gamma: the lab box with the FPGA boards and VMs.
{ config, lib, pkgs, ... }:

{
  boot.loader.grub.enable = true;
  boot.loader.grub.device = "/dev/sda";

  fileSystems."/" = { device = "/dev/disk/by-label/nixos"; fsType = "ext4"; };

  networking.hostName = "gamma";

  services.openssh.enable = true;
  virtualisation.libvirtd.enable = true;

  users.users.alice = {
    isNormalUser = true;
    uid = 1000;
    extraGroups = [ "wheel" "libvirtd" "dialout" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIu8jzPde0IgxLd6GncfBAepfJBd0Kh8oO alice@laptop"
    ];
  };

  system.stateVersion = "23.11";
}
