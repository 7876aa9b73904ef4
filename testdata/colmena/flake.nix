{
  description = "Web cluster, deployed with colmena";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";
    colmena.url = "github:zhaofengli/colmena";
  };

  outputs = { self, nixpkgs, colmena, ... }: {
    colmena = {
      meta = {
        nixpkgs = import nixpkgs { system = "x86_64-linux"; };
      };

      defaults = { ... }: {
        imports = [ ./modules/base.nix ];
      };

      web1 = { name, nodes, ... }: {
        deployment.targetHost = "web1.example.com";
        imports = [ ./hosts/web1 ];
      };

      web2 = { ... }: {
        imports = [ ./hosts/web2 ];
      };

      db = {
        imports = [ ./hosts/db ];
        # dave restores the dumps
        users.users.dave.extraGroups = [ "postgres" ];
      };
    };

    colmenaHive = colmena.lib.makeHive self.colmena;

    # so `nixos-rebuild --flake .#web1` works too
    nixosConfigurations = (colmena.lib.makeHive self.colmena).nodes;
  };
}
