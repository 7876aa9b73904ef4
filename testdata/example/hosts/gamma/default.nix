{ config, lib, pkgs, ... }:

{
  imports = [
    ./hardware-configuration.nix
    ../../modules/common.nix
  ];

  boot.loader.grub.enable = true;
  boot.loader.grub.device = "/dev/sda";

  networking.hostName = "gamma";
  networking.firewall.allowedTCPPorts = [ 445 2049 ];

  services.samba.enable = true;
  services.nfs.server.enable = true;

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
    # gamma predates the password rotation
    hashedPassword = "$y$j9T$DnkHIfxIq2HZt/PlJhx2jI$clHkCiHp6bR1IqfEouHgxzNNAL5wIScGebcy8F5n3/Y";
  };

  # Carol only needs the file server.
  users.users.carol = {
    isNormalUser = true;
    description = "Carol";
    extraGroups = [ "users" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICsMehGAkWvj7FAc9QeWJKY40uvSwMFLZ carol@work"
    ];
  };

  users.users.root.openssh.authorizedKeys.keys = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI9ojfljoQoaF1LlqsajAIxNKu8iS2G8NP admin@bastion"
  ];

  system.stateVersion = "24.05";
}
