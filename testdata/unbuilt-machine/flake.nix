{
  description = "Two servers; machines/old-nas was retired and is built by nothing";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";
  inputs.nixbsd.url = "github:nixos-bsd/nixbsd";

  outputs = { self, nixpkgs, nixbsd, ... }: {
    nixosConfigurations = {
      hel = nixpkgs.lib.nixosSystem {
        system = "x86_64-linux";
        modules = [ ./machines/hel/configuration.nix ];
      };
      osl = nixpkgs.lib.nixosSystem {
        system = "x86_64-linux";
        modules = [ ./machines/osl/configuration.nix ];
      };
    };
    # Not NixOS: nixbsd builds it.
    bsdConfigurations.bsd-box = nixbsd.lib.nixbsdSystem {
      modules = [ ./machines/bsd-box/configuration.nix ];
    };
  };
}
