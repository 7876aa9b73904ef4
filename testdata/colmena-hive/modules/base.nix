{ ... }:

{
  services.openssh.enable = true;

  # The lab admin, the same on every node.
  users.users.lab = {
    isNormalUser = true;
    extraGroups = [ "wheel" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG5labAdminDeskKey3uYw8Pq1Rc lab@desk"
    ];
  };
}
