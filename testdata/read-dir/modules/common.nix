{ ... }:

{
  services.openssh.enable = true;

  users.users.deploy = {
    isNormalUser = true;
    extraGroups = [ "wheel" ];
    openssh.authorizedKeys.keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM7deployCiRunnerKey2xVb9Qw4Tz ci@runner"
    ];
  };
}
