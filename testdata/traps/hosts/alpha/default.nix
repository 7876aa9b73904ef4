{ config, lib, pkgs, ... }:

{
  imports = [
    ./hardware-configuration.nix
    ./alice.nix
  ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;
  networking.hostName = "alpha";

  # Groups, not users.
  users.groups.media = { gid = 990; };
  users.extraGroups.docker = { };

  users.defaultUserShell = pkgs.zsh;
  users.mutableUsers = false;
  programs.zsh.enable = true;

  my.users.storage = true;

  services.sonarr.enable = true;
  users.users.sonarr.extraGroups = [ "media" ];

  users.users.root.openssh.authorizedKeys.keys = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI9ojfljoQoaF1LlqsajAIxNKu8iS2G8NP admin@bastion"
  ];

  # Static site container; www exists only inside it.
  containers.web = {
    autoStart = true;
    config = {
      users.users.www = {
        isSystemUser = true;
        group = "www";
      };
      users.groups.www = { };
      system.stateVersion = "24.05";
    };
  };

  system.stateVersion = "24.05";
}
