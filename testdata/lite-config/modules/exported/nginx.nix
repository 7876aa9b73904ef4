{ ... }:
{
  services.nginx.enable = true;

  users.users.deploy = {
    isNormalUser = true;
    description = "Deploys the web site";
  };
}
