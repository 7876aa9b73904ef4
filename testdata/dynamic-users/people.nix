# Remote contributors and their keys.
{
  frank = {
    keys = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKjIg8xNbe3nNyjOq9wMxEhh2FDEEtfjg frank@x" ];
  };
  gina = {
    keys = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIVvVqE1SkHbn88HxjSI6bWHtP3fS2qHx6 gina" ];
  };
}
