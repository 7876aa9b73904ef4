{ config, lib, pkgs, inputs, ... }:

{
  imports = [ ./hardware-configuration.nix ];

  networking.hostName = "kitchen";
  services.openssh.enable = true;

  users.users.jonas = {
    isNormalUser = true;
    description = "Jonas Müller";
    extraGroups = [ "wheel" "video" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq3oJ9sYbWkq0mC2vX8d1nL5zT7pR4uE6wA0fBgHi jonas@laptop"
    ];
  };

  users.users.lena = {
    isNormalUser = true;
    description = "Lena Müller";
  };

  system.stateVersion = "24.11";
}
