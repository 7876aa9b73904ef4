{ ... }:

{
  services.prometheus.exporters.node.enable = true;

  users.users.prom = {
    isSystemUser = true;
    group = "prom";
  };
  users.groups.prom = { };
}
