# Settings every machine gets.
{ config, lib, pkgs, ... }:

{
  time.timeZone = "Europe/Berlin";
  i18n.defaultLocale = "en_US.UTF-8";

  nix.settings.experimental-features = [ "nix-command" "flakes" ];
  nix.gc = {
    automatic = true;
    dates = "weekly";
    options = "--delete-older-than 14d";
  };

  services.openssh = {
    enable = true;
    settings.PasswordAuthentication = false;
    settings.PermitRootLogin = "prohibit-password";
  };

  programs.zsh.enable = true;

  # Users are managed declaratively only.
  users.mutableUsers = false;

  # Dave runs the backups on every box.
  users.users.dave = {
    isNormalUser = true;
    description = "Dave (backups)";
    extraGroups = [ "systemd-journal" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDe1f8rESQedUStPKR0CsTy4Qwb8DwkNh dave@laptop"
    ];
  };

  environment.systemPackages = with pkgs; [ git vim htop ];
}
