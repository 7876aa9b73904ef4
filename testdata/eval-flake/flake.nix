# A stand-in for a real flake: it evaluates with no inputs (no nixpkgs), and
# exposes just what `clan-migrate --eval` asks for. The host files are not
# reachable from here syntactically; only evaluation says which host has which.
{
  outputs =
    { self }:
    let
      # Just enough of the NixOS module system for `config.users.users`
      # (`verify --eval`): a host's modules and everything they import
      # (each file once), every `users.users` merged: lists concatenated,
      # attribute sets merged, equal values kept, different ones an error.
      args = {
        config = { };
        lib = { };
        pkgs = { };
      };
      load = file: {
        key = toString file;
        module = let m = import file; in if builtins.isFunction m then m args else m;
      };
      closure =
        files:
        builtins.genericClosure {
          startSet = map load files;
          operator = e: map load (e.module.imports or [ ]);
        };
      merge =
        vs:
        if builtins.all builtins.isList vs then
          builtins.concatLists vs
        else if builtins.all builtins.isAttrs vs then
          builtins.zipAttrsWith (_: merge) vs
        else if builtins.all (v: v == builtins.head vs) vs then
          builtins.head vs
        else
          throw "conflicting definitions: ${builtins.toJSON vs}";
      host =
        files:
        let
          defining = builtins.filter (e: e.module ? users.users) (closure files);
        in
        {
          options.users.users.definitionsWithLocations = map (e: {
            file = e.key;
            value = e.module.users.users;
          }) defining;
          config.users.users = merge ([ { } ] ++ map (e: e.module.users.users) defining);
        };
    in
    {
      nixosConfigurations = {
        alpha = host [
          ./hosts/alpha/users.nix
          ./modules/common.nix
        ];
        beta = host [
          ./hosts/beta/users.nix
          ./modules/common.nix
        ];
      };
    };
}
