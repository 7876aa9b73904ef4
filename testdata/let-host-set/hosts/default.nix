{ self, inputs, ... }:
{
  flake.nixosConfigurations =
    let
      # shorten paths
      inherit (inputs.nixpkgs.lib) nixosSystem;

      mod = "${self}/system";
      # the profile to build on
      inherit (import mod) laptop;

      specialArgs = { inherit inputs self; };
    in
    {
      io = nixosSystem {
        inherit specialArgs;
        modules = laptop ++ [
          ./io
          "${mod}/programs/games.nix"
        ];
      };

      ganymede = nixosSystem {
        inherit specialArgs;
        modules = laptop ++ [ ./ganymede ];
      };
    };
}
