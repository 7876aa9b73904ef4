{
  description = "The Müller household: kitchen (media PC), study (desktop), attic (NAS)";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
    home-manager = {
      url = "github:nix-community/home-manager/release-24.11";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs = { self, nixpkgs, home-manager, ... }@inputs: {
    # The media PC next to the fridge.
    nixosConfigurations.kitchen = nixpkgs.lib.nixosSystem {
      system = "x86_64-linux";
      specialArgs = { inherit inputs; };
      modules = [
        ./hosts/kitchen/configuration.nix
        home-manager.nixosModules.home-manager
        # the kids may play music here
        { users.users.lena.extraGroups = [ "audio" ]; }
      ];
    };

    nixosConfigurations.study = nixpkgs.lib.nixosSystem {
      system = "x86_64-linux";
      specialArgs = { inherit inputs; };
      modules = [ ./hosts/study/configuration.nix ];
    };

    nixosConfigurations.attic = nixpkgs.lib.nixosSystem {
      system = "aarch64-linux";
      specialArgs = { inherit inputs; };
      modules = [ ./hosts/attic/configuration.nix ];
    };
  };
}
