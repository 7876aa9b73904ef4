{
  description = "Machines built with small helpers";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";

  outputs = { self, nixpkgs }:
    let
      # Most machines: one file under hosts/ plus the shared bits.
      mkHost = name: nixpkgs.lib.nixosSystem {
        system = "x86_64-linux";
        modules = [ ./hosts/${name}.nix ./common ];
      };

      # Older layout, one directory per machine.
      mkSystem = { hostname, system ? "x86_64-linux" }: nixpkgs.lib.nixosSystem {
        inherit system;
        modules = [ (./machines + "/${hostname}") ];
      };
    in
    {
      nixosConfigurations = {
        alpha = mkHost "alpha";
        beta = mkHost "beta";
        gamma = mkSystem { hostname = "gamma"; };
      };
    };
}
