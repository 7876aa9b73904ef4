{ ... }:

{
  networking.hostName = "router";
  fileSystems."/" = { device = "/dev/disk/by-label/nixos"; fsType = "ext4"; };
  boot.loader.grub.device = "/dev/sda";

  users.users.admin = {
    isNormalUser = true;
    extraGroups = [ "wheel" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM4tR7yU2iO9pA1sD3fG5hJ7kL0zX2cV4bN6mQ8wE0r admin@desk"
    ];
  };

  system.stateVersion = "23.05";
}
