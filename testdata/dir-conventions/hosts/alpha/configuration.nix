{ config, lib, pkgs, ... }:

{
  imports = [
    ./hardware-configuration.nix
    ../../common/users.nix
  ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  networking.hostName = "alpha";
  services.openssh.enable = true;

  users.users.bob = {
    isNormalUser = true;
    uid = 1001;
    description = "Bob";
    extraGroups = [ "wheel" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITeKdNnFRIBXuDL7DxtpYlSXpfKtHF4vU bob@desktop"
    ];
  };

  system.stateVersion = "23.11";
}
