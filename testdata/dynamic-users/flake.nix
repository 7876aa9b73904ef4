{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";

  outputs = { self, nixpkgs, ... }@inputs:
    let
      # the person who administers the machines
      specialArgs = { inherit inputs; username = "dave"; };
    in
    {
      nixosConfigurations.alpha = nixpkgs.lib.nixosSystem {
        system = "x86_64-linux";
        inherit specialArgs;
        modules = [ ./hosts/alpha ./modules/admin.nix ];
      };
      nixosConfigurations.beta = nixpkgs.lib.nixosSystem {
        system = "x86_64-linux";
        inherit specialArgs;
        modules = [ ./hosts/beta ./modules/admin.nix ];
      };
    };
}
