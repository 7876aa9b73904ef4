{ pkgs, ... }:

{
  boot.loader.systemd-boot.enable = true;
  fileSystems."/" = {
    device = "/dev/disk/by-label/nixos";
    fsType = "ext4";
  };

  networking.hostName = "builder1";
  nix.settings.max-jobs = 32;

  users.users.mira = {
    isNormalUser = true;
    description = "Mira Okafor";
    extraGroups = [ "wheel" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB2miraWorkLaptopKey7dQpXc4Vn9sLe mira@work"
    ];
  };

  # The build user the web front connects as.
  users.users.builder = {
    isNormalUser = true;
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK4webFrontBuildKey0aZq8Yw3Rt6Pm builder@web"
    ];
  };

  system.stateVersion = "24.05";
}
