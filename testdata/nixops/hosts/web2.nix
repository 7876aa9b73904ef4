{ pkgs, ... }:

{
  boot.loader.grub.device = "/dev/xvda";
  fileSystems."/" = {
    device = "/dev/xvda1";
    fsType = "ext4";
  };
  networking.hostName = "web2";

  users.users.tomas = {
    isNormalUser = true;
    description = "Tomas";
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ1tomasHomeLaptopKey6rTy2Wq9Lp tomas@home"
    ];
  };

  system.stateVersion = "23.11";
}
