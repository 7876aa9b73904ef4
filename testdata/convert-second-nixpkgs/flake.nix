{
  description = "A router on current NixOS and an old box that stays on 23.05";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
    # The scanner's driver broke after 23.05; keep that box there for now.
    nixpkgs-old.url = "github:NixOS/nixpkgs/nixos-23.05";
  };

  outputs = { self, nixpkgs, nixpkgs-old, ... }: {
    nixosConfigurations.router = nixpkgs.lib.nixosSystem {
      system = "x86_64-linux";
      modules = [ ./hosts/router ];
    };

    nixosConfigurations.legacy = nixpkgs-old.lib.nixosSystem {
      system = "i686-linux";
      modules = [ ./hosts/legacy ];
    };
  };
}
