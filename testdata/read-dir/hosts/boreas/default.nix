{ pkgs, ... }:

{
  imports = [ ./hardware-configuration.nix ];

  networking.hostName = "boreas";
  programs.fish.enable = true;
  programs.zsh.enable = true;

  users.users.noor = {
    isNormalUser = true;
    description = "Noor Haddad";
    extraGroups = [ "wheel" ];
    shell = pkgs.zsh;
  };

  system.stateVersion = "24.05";
}
