{ self, inputs, ... }:
let
  inherit (inputs) nixpkgs srvos;

  nixosSystem =
    args:
    nixpkgs.lib.nixosSystem (
      {
        specialArgs = { inherit self inputs; };
      }
      // args
    );

  commonModules = [
    # Only the admins are on every machine.
    ./modules/users/admins.nix
    srvos.nixosModules.server
  ];
in
{
  # One module per machine.
  flake.nixosModules = {
    alpha = {
      imports = commonModules ++ [ ./hosts/alpha.nix ];
    };
    beta = {
      imports = commonModules ++ [ ./hosts/beta.nix ];
    };
  };

  flake.nixosConfigurations = nixpkgs.lib.mapAttrs (
    name: module:
    nixosSystem {
      modules = [ module ];
    }
  ) self.nixosModules;
}
