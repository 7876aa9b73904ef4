{
  description = "Build hosts with lite-config";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    flake-parts.url = "github:hercules-ci/flake-parts";
    lite-config.url = "github:yelite/lite-config";
    nix-darwin.url = "github:nix-darwin/nix-darwin";
  };

  outputs =
    inputs@{ flake-parts, ... }:
    flake-parts.lib.mkFlake { inherit inputs; } {
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "aarch64-darwin"
      ];

      imports = [
        inputs.lite-config.flakeModule
        ./modules/flake-module.nix
      ];

      lite-config =
        { lib, ... }:
        {
          hostModuleDir = ./hosts;

          hosts = {
            build01.system = "x86_64-linux";
            web01 = {
              system = "aarch64-linux";
            };
            # A Mac: lite-config builds it with nix-darwin.
            mac01.system = "aarch64-darwin";
            edge = {
              system = "x86_64-linux";
              hostModule = ./machines/edge.nix;
            };
          };

          systemModules = [
            (
              { hostPlatform, ... }:
              {
                imports =
                  lib.optionals hostPlatform.isDarwin [ ./modules/darwin ]
                  ++ lib.optionals hostPlatform.isLinux [ ./modules/nixos ];
              }
            )
            ./modules/nix.nix
          ];
        };
    };
}
