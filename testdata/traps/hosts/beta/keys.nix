# beta is air-gapped from the key server; alice's old laptop key.
{
  alice = {
    laptop = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI3m03nbqnsGpWLuqIA1id6Vw5DQL05HA0 alice@old-laptop";
  };
}
