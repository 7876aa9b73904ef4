{ pkgs, ... }:

{
  boot.loader.grub.device = "/dev/vda";
  fileSystems."/" = {
    device = "/dev/vda1";
    fsType = "ext4";
  };
  networking.hostName = "cirrus";

  users.users.noor = {
    isNormalUser = true;
    description = "Noor Haddad";
    extraGroups = [ "wheel" "docker" ];
  };

  system.stateVersion = "23.11";
}
