{ ... }:
{
  users.users.gina = {
    isNormalUser = true;
    uid = 1001;
    extraGroups = [ "wheel" "video" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJPNPMApbThWk3bxUACRzhVY+EmqwREmqyGTTGBvvZ/Q gina@x"
    ];
  };
}
