{ ... }:

{
  services.openssh.enable = true;

  users.users.root.openssh.authorizedKeys.keys = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPq3rootAdminKey8sWx2Lm5Ne7bYt admin@desk"
  ];
}
