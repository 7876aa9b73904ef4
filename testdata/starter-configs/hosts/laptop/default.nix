{ ... }:
{
  imports = [ ../common/global ];

  networking.hostName = "laptop";

  users.users.gabriel = {
    isNormalUser = true;
    description = "Gabriel";
    extraGroups = [ "wheel" ];
  };

  system.stateVersion = "24.11";
}
