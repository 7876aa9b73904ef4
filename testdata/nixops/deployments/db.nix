# nixops deploy -d db
{
  network.description = "Database";

  resources.sshKeyPairs.ssh-key = { };

  db1 = import ../hosts/db1.nix;
}
