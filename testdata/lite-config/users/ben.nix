{ ... }:
{
  users.users.ben = {
    isNormalUser = true;
    openssh.authorizedKeys.keyFiles = [ ./keys/ben ];
  };
}
