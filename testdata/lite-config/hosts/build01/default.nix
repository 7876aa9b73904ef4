{ ... }:
{
  networking.firewall.allowedTCPPorts = [ 22 ];

  users.users.kim = {
    isNormalUser = true;
    description = "Kim Berg";
    extraGroups = [ "wheel" ];
  };

  system.stateVersion = "24.05";
}
