inputs:

{
  meta = {
    nixpkgs = import inputs.nixpkgs { system = "x86_64-linux"; };
    specialArgs = { inherit inputs; };
  };

  # Every node gets the base module.
  defaults = { pkgs, ... }: {
    imports = [ ./modules/base.nix ];
  };

  # A node as a path.
  alpha = ./nodes/alpha.nix;

  # A node as a module.
  beta = { name, nodes, ... }: {
    deployment.targetHost = "beta.lan";
    imports = [ ./nodes/beta ];
  };

  gamma = import ./nodes/gamma.nix;
}
