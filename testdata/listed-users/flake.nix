{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
  outputs = { nixpkgs, ... }: {
    nixosConfigurations = {
      a = nixpkgs.lib.nixosSystem { modules = [ ./hosts/a ]; };
      b = nixpkgs.lib.nixosSystem { modules = [ ./hosts/b ]; };
      c = nixpkgs.lib.nixosSystem { modules = [ ./hosts/c ]; };
    };
  };
}
