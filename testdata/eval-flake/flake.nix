# A stand-in for a real flake: it evaluates with no inputs (no nixpkgs), and
# exposes just what `clan-migrate --eval` asks for. The host files are not
# reachable from here syntactically; only evaluation says which host has which.
{
  outputs = { self }: {
    nixosConfigurations = {
      alpha = {
        options.users.users.definitionsWithLocations = [
          { file = "${self}/hosts/alpha/users.nix"; value = { }; }
          { file = "${self}/modules/common.nix"; value = { }; }
        ];
      };
      beta = {
        options.users.users.definitionsWithLocations = [
          { file = "${self}/hosts/beta/users.nix"; value = { }; }
          { file = "${self}/modules/common.nix"; value = { }; }
        ];
      };
    };
  };
}
