{ config, lib, ... }:

{
  options.my.enable = lib.mkEnableOption "site-specific defaults";

  config = {
    users.users."alice".uid = 1000;
    users.users.oscar.extraGroups = [ "wheel" ];

    users.users.heidi = lib.mkIf config.my.enable {
      isNormalUser = true;
      description = "Heidi";
    };
  };
}
