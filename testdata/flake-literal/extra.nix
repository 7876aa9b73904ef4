# Extra bits for the NAS that used to live in a separate repo.
{ config, pkgs, ... }:

{
  services.smartd.enable = true;
  services.smartd.notifications.mail.enable = true;

  users.users.alice = {
    isNormalUser = true;
    description = "Alice Liddell";
    extraGroups = [ "storage" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIu8jzPde0IgxLd6GncfBAepfJBd0Kh8oO alice@laptop"
    ];
  };
}
