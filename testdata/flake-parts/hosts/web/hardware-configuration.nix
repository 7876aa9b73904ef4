{ ... }:

{
  boot.initrd.availableKernelModules = [ "ahci" "nvme" ];
  fileSystems."/" = {
    device = "/dev/disk/by-label/nixos";
    fsType = "ext4";
  };
}
