{ ... }:
{
  services.printing.enable = true;
}
