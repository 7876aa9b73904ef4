{ ... }:
{
  networking.hostName = "studio";
  nixpkgs.hostPlatform = "x86_64-linux";

  users.users.ana = {
    isNormalUser = true;
    description = "Ana Costa";
    extraGroups = [ "wheel" ];
  };

  system.stateVersion = "24.11";
}
