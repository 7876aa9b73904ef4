{ pkgs, ... }:

{
  imports = [ ./hardware-configuration.nix ];

  networking.hostName = "atlas";
  programs.fish.enable = true;
  programs.zsh.enable = true;

  users.users.noor = {
    isNormalUser = true;
    description = "Noor Haddad";
    extraGroups = [ "wheel" ];
    shell = pkgs.fish;
  };

  system.stateVersion = "24.05";
}
