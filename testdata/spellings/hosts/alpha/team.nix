{ ... }:

{
  users.users = {
    bob = {
      isNormalUser = true;
      description = "Bob";
      extraGroups = [ "docker" ];
      openssh.authorizedKeys.keys = [
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITeKdNnFRIBXuDL7DxtpYlSXpfKtHF4vU bob@desktop"
      ];
    };
    carol = {
      isNormalUser = true;
      home = "/home/carol";
      extraGroups = [ "users" ];
    };
  };
}
