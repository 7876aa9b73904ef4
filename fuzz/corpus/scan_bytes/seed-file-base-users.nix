# Written by the installer script years ago; nested style.
{ pkgs, ... }:

{
  users = {
    mutableUsers = false;
    users = {
      root = {
        openssh.authorizedKeys.keys = [
          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI9ojfljoQoaF1LlqsajAIxNKu8iS2G8NP admin@bastion"
        ];
      };
      dave = {
        isNormalUser = true;
        description = "Dave";
      };
    };
    defaultUserShell = pkgs.bash;
  };
}
