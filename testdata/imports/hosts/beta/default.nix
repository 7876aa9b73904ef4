{ config, lib, pkgs, ... }:

{
  # Every file in ./modules is a module for this host, and so is every
  # module ./extra/list.nix names.
  imports = [
    ./hardware-configuration.nix
    ../../common
  ] ++ map (f: ./modules + "/${f}") (builtins.attrNames (builtins.readDir ./modules))
    ++ import ./extra/list.nix;

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;
  networking.hostName = "beta";

  system.stateVersion = "24.05";
}
