# Applied to every node through `defaults`.
{ config, lib, pkgs, ... }:

{
  deployment.targetUser = "root";

  services.openssh.enable = true;
  services.openssh.settings.PasswordAuthentication = false;

  users.mutableUsers = false;

  users.users.dave = {
    isNormalUser = true;
    description = "Dave";
    extraGroups = [ "wheel" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDe1f8rESQedUStPKR0CsTy4Qwb8DwkNh dave@laptop"
    ];
  };

  users.users.root.openssh.authorizedKeys.keys =
    config.users.users.dave.openssh.authorizedKeys.keys;
}
