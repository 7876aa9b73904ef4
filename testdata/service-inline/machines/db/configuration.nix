{ config, pkgs, lib, ... }:

{
  imports = [
    ./hardware-configuration.nix
  ];

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  networking.hostName = "db";

  services.openssh.enable = true;
  services.postgresql.enable = true;
  services.postgresql.package = pkgs.postgresql_16;

  users.users.dana = {
    isNormalUser = true;
    extraGroups = [ "wheel" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID4voyzR6+11Vj9Ay5HOjlEG9JxztjMh4sX0Qk143p5Y dana@work"
    ];
  };

  system.stateVersion = "24.05";
}
