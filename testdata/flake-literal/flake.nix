{
  description = "web, storage and mail servers";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";
    home-manager = {
      url = "github:nix-community/home-manager/release-24.05";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs = { self, nixpkgs, ... }@inputs: {
    nixosConfigurations.web = nixpkgs.lib.nixosSystem {
      system = "x86_64-linux";
      modules = [
        ./hosts/web
        # erin deploys the web apps
        { users.users.erin.extraGroups = [ "wheel" ]; }
      ];
    };

    # The NAS lives in the home network, hence the dotted name.
    nixosConfigurations."storage.home" = nixpkgs.lib.nixosSystem {
      system = "x86_64-linux";
      specialArgs = { inherit inputs; };
      modules = [
        ./hosts/storage
        inputs.home-manager.nixosModules.home-manager
      ] ++ [ ./extra.nix ];
    };

    nixosConfigurations.mail = nixpkgs.lib.nixosSystem {
      system = "x86_64-linux";
      modules = [ ./hosts/mail ];
    };
  };
}
