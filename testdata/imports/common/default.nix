# Everything every machine gets, directly or through a role.
{ config, lib, pkgs, ... }:

{
  services.openssh.enable = true;
  users.mutableUsers = false;

  users.users.alice = {
    isNormalUser = true;
    description = "Alice Liddell";
    extraGroups = [ "wheel" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIu8jzPde0IgxLd6GncfBAepfJBd0Kh8oO alice@laptop"
    ];
  };

  users.users.root.openssh.authorizedKeys.keys = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI9ojfljoQoaF1LlqsajAIxNKu8iS2G8NP admin@bastion"
  ];
}
