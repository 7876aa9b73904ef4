{ ... }:
{
  hardware.bluetooth.enable = true;
}
