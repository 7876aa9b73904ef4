# nixops deploy -d web
{
  network.description = "Web servers";
  network.enableRollback = true;

  defaults = { ... }: {
    imports = [ ../modules/base.nix ];
  };

  web1 = { config, pkgs, ... }: {
    deployment.targetHost = "10.0.0.11";
    imports = [ ../hosts/web1.nix ];
  };

  web2 = { config, pkgs, ... }: {
    deployment.targetHost = "10.0.0.12";
    imports = [ ../hosts/web2.nix ];
    # web2 also serves the staging site for tomas
    users.users.tomas.extraGroups = [ "nginx" ];
  };
}
