{
  meta.name = "homelab";

  inventory.machines = {
    jon = { };
    sara = { };
  };

  inventory.instances = {
    alice-user = {
      module.name = "users";
      roles.default.tags.all = { };
      roles.default.settings = {
        user = "alice";
        groups = [ "wheel" ];
      };
      roles.default.extraModules = [ ./users/alice/home.nix ];
    };
  };
}
