{
  description = "Hosts listed in hosts.json, built by one function";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";

  outputs = { self, nixpkgs, ... }:
    let
      inherit (nixpkgs) lib;
      inventory = builtins.fromJSON (builtins.readFile ./hosts.json);
      mkHost = h: lib.nixosSystem {
        inherit (h) system;
        modules = [ ./hosts/${h.name} ];
      };
    in
    {
      nixosConfigurations = lib.listToAttrs (map (h: lib.nameValuePair h.name (mkHost h)) inventory);
    };
}
