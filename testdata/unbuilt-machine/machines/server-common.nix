# What both servers share; imported by each, built as a host by nothing.
{ ... }:
{
  boot.loader.systemd-boot.enable = true;
  services.openssh.enable = true;
}
