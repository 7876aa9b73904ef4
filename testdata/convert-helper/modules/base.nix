{ pkgs, ... }:

{
  services.openssh.enable = true;
  time.timeZone = "Europe/Berlin";
  environment.systemPackages = [ pkgs.libreoffice ];
  home-manager.useGlobalPkgs = true;
}
