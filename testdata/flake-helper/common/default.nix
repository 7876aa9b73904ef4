{ config, pkgs, ... }:

{
  nix.settings.experimental-features = [ "nix-command" "flakes" ];
  services.openssh.enable = true;
  time.timeZone = "UTC";

  users.users.dave = {
    isNormalUser = true;
    description = "Dave";
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDe1f8rESQedUStPKR0CsTy4Qwb8DwkNh dave@laptop"
    ];
  };
}
