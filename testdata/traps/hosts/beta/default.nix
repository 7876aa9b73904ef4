{ config, lib, pkgs, ... }:

{
  imports = [
    ./hardware-configuration.nix
    ./alice.nix
  ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;
  networking.hostName = "beta";

  users.groups.media = { gid = 990; };
  users.extraGroups.docker = { };

  users.defaultUserShell = pkgs.zsh;
  users.mutableUsers = false;
  programs.zsh.enable = true;

  services.hydra = {
    enable = true;
    hydraURL = "https://hydra.example.com";
    notificationSender = "hydra@example.com";
  };
  users.users.hydra-www.extraGroups = [ "hydra" ];

  users.users.root.openssh.authorizedKeys.keys = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI9ojfljoQoaF1LlqsajAIxNKu8iS2G8NP admin@bastion"
  ];

  system.stateVersion = "24.05";
}
