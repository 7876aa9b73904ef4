{ config, pkgs, ... }:

{
  networking.hostName = "reception";
  boot.loader.systemd-boot.enable = true;
  fileSystems."/" = { device = "/dev/disk/by-label/nixos"; fsType = "ext4"; };

  users.users.it = {
    isNormalUser = true;
    description = "IT support";
    extraGroups = [ "wheel" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKc2rY0w5bJtq3sX7m1nP4vL8dQ9zE6aH2uF0gTiRo it@helpdesk"
    ];
  };

  system.stateVersion = "24.11";
}
