{ config, ... }:

let
  extraGroups = [ "wheel" "video" ];
in
{
  users.users.karl = {
    isNormalUser = true;
    inherit extraGroups;
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIkibjL5DZPjN0MEQ7wjJJibaZUPgHV7iB karl"
    ];
  };

  # lena uses karl's hardware token
  users.users.lena = { inherit (config.users.users.karl) openssh; isNormalUser = true; };
}
