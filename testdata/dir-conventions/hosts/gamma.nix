# gamma is a small VM, everything in one file.
{ config, lib, pkgs, modulesPath, ... }:

{
  imports = [ ../common/users.nix ];

  boot.loader.grub.enable = true;
  boot.loader.grub.device = "/dev/vda";
  boot.initrd.availableKernelModules = [ "virtio_pci" "virtio_blk" ];

  fileSystems."/" = {
    device = "/dev/vda1";
    fsType = "ext4";
  };

  networking.hostName = "gamma";
  services.openssh.enable = true;

  users.users.bob = {
    isNormalUser = true;
    # uid 1001 was already taken on this VM's NFS export
    uid = 1002;
    description = "Bob";
    extraGroups = [ "wheel" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITeKdNnFRIBXuDL7DxtpYlSXpfKtHF4vU bob@desktop"
    ];
  };

  system.stateVersion = "23.11";
}
