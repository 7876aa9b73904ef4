{ inputs, ... }:

{
  networking.hostName = "nuc";
  fileSystems."/" = { device = "/dev/disk/by-label/NIXOS_SD"; fsType = "ext4"; };
  services.openssh.enable = true;

  users.users.sam = {
    isNormalUser = true;
    extraGroups = [ "wheel" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPz5xC1vB3nM7qW9eR2tY4uI6oP8aS0dF2gH4jK6lZ sam@phone"
    ];
  };

  system.stateVersion = "24.11";
}
