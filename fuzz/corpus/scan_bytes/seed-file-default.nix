{ config, lib, pkgs, ... }:

{
  imports = [
    ./hardware-configuration.nix
    ./base-users.nix
    ./team.nix
    ./staff.nix
    ./my.nix
    ./interns.nix
    ./lab.nix
  ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  networking.hostName = "alpha";

  programs.zsh.enable = true;
  my.enable = true;

  # Alice is the primary admin.
  users.users.alice = {
    isNormalUser = true;
    description = "Alice Liddell";
    extraGroups = [ "wheel" "networkmanager" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIu8jzPde0IgxLd6GncfBAepfJBd0Kh8oO alice@laptop"
    ];
  };

  users.users.oscar.isNormalUser = true;

  # old name of the option, still works
  users.extraUsers.gina = {
    isNormalUser = true;
    description = "Gina";
  };

  # uplink monitor account, the name is fixed by the ISP's tooling
  users.users."ls1.internet" = {
    isSystemUser = true;
    group = "nogroup";
    description = "LS1 uplink";
  };

  users.users.ivan.isNormalUser = true;
  users.users.ivan.shell = lib.mkForce pkgs.zsh;
  users.users.ivan.extraGroups = lib.mkAfter [ "audio" ];

  system.stateVersion = "24.05";
}
