{ ... }:
{
  users = {
    users = {
      "bob" = {
        openssh.authorizedKeys.keys = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITeKdNnFRIBXuDL7DxtpYlSXpfKtHF4vU bob@desktop" ];
        extraGroups = [ "docker" ];
        isNormalUser = true;
        description = "Bob";
      };
      carol = { extraGroups = [ "users" ]; home = "/home/carol"; isNormalUser = true; };
      erin = {
        isNormalUser = true;
        extraGroups = [ "wheel" ];
      };
      frank = {
        openssh.authorizedKeys.keys = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKjIg8xNbe3nNyjOq9wMxEhh2FDEEtfjg frank@x" ];
        description = "Frank";
        isNormalUser = true;
      };
      oscar = { extraGroups = [ "wheel" ]; isNormalUser = true; };
    };
  };
}
