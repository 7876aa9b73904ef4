{ config, pkgs, lib, ... }:

{
  imports = [
    ./hardware-configuration.nix
  ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  networking.hostName = "gamma";

  services.openssh.enable = true;
  networking.networkmanager.enable = true;

  # gamma is the shared family machine: people change their own passwords here
  users.mutableUsers = lib.mkDefault true;

  # Alice: main workstation user.
  programs.zsh.enable = true;
  users.users.alice = {
    isNormalUser = true;
    uid = 1000;
    description = "Alice Liddell";
    extraGroups = [ "wheel" "networkmanager" ];
    shell = pkgs.zsh;
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0n/R1JXET3SLm9CENr5rXB+nahX0LcniRRStQj2JJw alice@laptop"
    ];
    hashedPassword = "$6$Xk3vQ9pLm2RtZw8e$z/saGKHlvREjWiKWHnFtzdBwrsiAjM5Mw5ROYmCHipqYsW9gCitmQIupu2a73NAUPNEKHOh4ZVGKEJVOx56sV0";
  };

  home-manager.useGlobalPkgs = true;
  home-manager.users.alice = {
    home.stateVersion = "24.05";
    programs.git = {
      enable = true;
      userName = "Alice";
      userEmail = "alice@example.com";
    };
  };

  users.users.carol = {
    isNormalUser = true;
    description = "Carol";
    extraGroups = [ "audio" "video" ];
  };

  users.users.root.openssh.authorizedKeys.keys = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILBoD5DkmRjlCBoTCUU+fIhFegUT0xlv6Pe25ftlPacD admin@desk"
  ];

  system.stateVersion = "24.05";
}
