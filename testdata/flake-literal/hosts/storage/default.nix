{ config, lib, pkgs, inputs, ... }:

{
  imports = [ ./hardware-configuration.nix ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;
  boot.supportedFilesystems = [ "zfs" ];

  networking.hostName = "storage";
  networking.domain = "home";
  networking.hostId = "8425e349";

  services.openssh.enable = true;
  services.zfs.autoScrub.enable = true;

  users.groups.storage = { };

  users.users.erin = {
    isNormalUser = true;
    description = "Erin";
    extraGroups = [ "wheel" "storage" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFdnXsiVpzz63FfkCzJr4i0B3JrTAwR4y erin@laptop"
    ];
  };

  home-manager.users.erin = {
    home.stateVersion = "24.05";
    programs.tmux.enable = true;
  };

  system.stateVersion = "24.05";
}
