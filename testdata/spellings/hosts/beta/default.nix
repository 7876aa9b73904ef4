{ config, lib, pkgs, ... }:
{
  imports = [ ./hardware-configuration.nix ./people.nix ./my.nix ];

  boot.loader.grub.enable = true;
  boot.loader.grub.device = "/dev/sda";

  networking.hostName = "beta";
  programs.zsh.enable = true;
  my.enable = true;

  users.mutableUsers = false;
  users.defaultUserShell = pkgs.bash;

  users.users.alice.isNormalUser = true;
  users.users.alice.uid = 1000;
  users.users.alice.description = "Alice Liddell";
  users.users.alice.extraGroups = [ "wheel" "networkmanager" ];
  users.users.alice.openssh.authorizedKeys.keys = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIu8jzPde0IgxLd6GncfBAepfJBd0Kh8oO alice@laptop" ];

  users.users.root.openssh.authorizedKeys.keys = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI9ojfljoQoaF1LlqsajAIxNKu8iS2G8NP admin@bastion" ];
  users.users.dave = { description = "Dave"; isNormalUser = true; };
  users.users.gina = { description = "Gina"; isNormalUser = true; };

  users.users."ls1.internet" = {
    description = "LS1 uplink";
    group = "nogroup";
    isSystemUser = true;
  };

  users.users.ivan = {
    extraGroups = lib.mkAfter [ "audio" ];
    isNormalUser = true;
    shell = lib.mkForce pkgs.zsh;
  };

  users.users.judy = {
    extraGroups = [ "wheel" ];
    isNormalUser = true;
  };

  users.users.karl = {
    openssh.authorizedKeys.keys = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIkibjL5DZPjN0MEQ7wjJJibaZUPgHV7iB karl" ];
    extraGroups = [ "video" "wheel" ];
    isNormalUser = true;
  };
  users.users.lena = {
    isNormalUser = true;
    openssh = config.users.users.karl.openssh;   # same token as karl
  };

  system.stateVersion = "24.05";
}
