{ config, lib, ... }:
{
  options.my.enable = lib.mkEnableOption "site-specific defaults";

  config.users.users.heidi = lib.mkIf config.my.enable { description = "Heidi"; isNormalUser = true; };
}
