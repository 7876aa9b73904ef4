{
  description = "Office desks, all built by one helper";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
  inputs.home-manager.url = "github:nix-community/home-manager/release-24.11";
  inputs.home-manager.inputs.nixpkgs.follows = "nixpkgs";

  outputs = { self, nixpkgs, home-manager }:
    let
      # What every desk runs.
      common = [
        ./modules/base.nix
        home-manager.nixosModules.home-manager
      ];

      mkHost = name: nixpkgs.lib.nixosSystem {
        system = "x86_64-linux";
        specialArgs = { inherit self; };
        modules = common ++ [ ./hosts/${name}.nix ];
      };
    in
    {
      nixosConfigurations = {
        reception = mkHost "reception";
        accounting = mkHost "accounting";
        # the boss's desk, same as the others
        office = mkHost "office";
      };
    };
}
