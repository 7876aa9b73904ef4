{ config, lib, pkgs, inputs, ... }:

{
  imports = [
    ./hardware-configuration.nix
    ./docker.nix
    ../../modules/common.nix
  ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  networking.hostName = "alpha";
  networking.networkmanager.enable = true;

  services.xserver.enable = true;
  services.xserver.displayManager.gdm.enable = true;
  services.xserver.desktopManager.gnome.enable = true;

  # Alice: main workstation user.
  users.users.alice = {
    isNormalUser = true;
    description = "Alice Liddell";
    extraGroups = [ "wheel" "networkmanager" ];
    shell = pkgs.zsh;
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIu8jzPde0IgxLd6GncfBAepfJBd0Kh8oO alice@laptop"
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOL8dKLzdocJ2isAjIhKtJ0RlgLKOmxgJ alice@phone"
    ];
    hashedPassword = "$y$j9T$nhFyJfm5di4PzJ59FHz5r1$pY4OjE2jBMptUsGr7CmY.uCu3ZR1zTOlUcR64cXQLio";
  };

  users.users.bob.isNormalUser = true;

  users.users.root.openssh.authorizedKeys.keys = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI9ojfljoQoaF1LlqsajAIxNKu8iS2G8NP admin@bastion"
  ];

  home-manager.useGlobalPkgs = true;
  home-manager.users.alice = {
    home.stateVersion = "24.05";
    programs.git = {
      enable = true;
      userName = "Alice";
      userEmail = "alice@example.com";
    };
  };

  system.stateVersion = "24.05";
}
