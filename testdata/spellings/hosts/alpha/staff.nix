{ ... }:

{
  users = {
    users.erin.isNormalUser = true;
    users.erin.extraGroups = [ "wheel" ];
    extraUsers = {
      frank = {
        isNormalUser = true;
        description = "Frank";
        openssh.authorizedKeys.keys = [
          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKjIg8xNbe3nNyjOq9wMxEhh2FDEEtfjg frank@x"
        ];
      };
    };
  };
}
