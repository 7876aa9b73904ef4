{ config, lib, pkgs, ... }:

{
  imports = [ ../common ];

  services.fail2ban.enable = true;
  networking.firewall.enable = true;

  # bob is the on-call operator for servers
  users.users.bob = {
    isNormalUser = true;
    extraGroups = [ "systemd-journal" ];
  };
}
