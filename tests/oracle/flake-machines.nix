# What builds each machine of a flake, by evaluating its `outputs` with
# stand-in inputs: a tiny `<nixpkgs>.lib.nixosSystem` and a tiny
# `clan-core.lib.clan` that, instead of building NixOS, report per machine
# which nixpkgs, which system, which specialArgs and which modules (paths
# relative to the flake, input modules by name, inline modules by their
# top-level attributes). Used by tests/clan.rs to compare a flake with its
# conversion machine by machine; plain `nix-instantiate --eval --strict
# --json`, no flakes feature, no network.
{ flakeDir }:
let
  inherit (builtins)
    attrNames
    concatStringsSep
    head
    isAttrs
    isFunction
    isList
    isPath
    listToAttrs
    mapAttrs
    removeAttrs
    stringLength
    substring
    ;
  root = toString flakeDir;
  rel = p: let s = toString p; in substring (stringLength root + 1) (stringLength s) s;

  # A module, as the report names it.
  describe =
    m:
    if isPath m then
      "path:" + rel m
    else if isAttrs m && m ? _standin then
      m._standin
    else if isFunction m then
      "function"
    else if isAttrs m then
      "set:" + concatStringsSep "," (attrNames m)
    else
      "other";

  module = id: { _standin = id; };

  lib = {
    genAttrs = names: f: listToAttrs (map (n: { name = n; value = f n; }) names);
    inherit mapAttrs;
  };

  nixpkgsNamed = name: {
    lib = lib // {
      nixosSystem =
        {
          system ? null,
          specialArgs ? { },
          modules ? [ ],
        }:
        {
          _report = {
            nixpkgs = name;
            inherit system;
            specialArgs = attrNames specialArgs;
            modules = map describe modules;
          };
        };
    };
    legacyPackages = throw "stand-in nixpkgs: legacyPackages is not evaluated";
  };

  clanCore = {
    lib.clan =
      {
        self ? null,
        imports ? [ ],
        specialArgs ? { },
        machines ? { },
      }:
      let
        clanNix = map (f: import f) imports;
        meta = (head clanNix).meta;
      in
      {
        config = {
          nixosConfigurations = mapAttrs (name: m: {
            _report = {
              # clan-core's nixpkgs follows the flake's `nixpkgs`.
              nixpkgs = "nixpkgs";
              system = m.nixpkgs.hostPlatform or null;
              specialArgs = attrNames specialArgs;
              # Clan imports machines/<name>/configuration.nix and
              # hardware-configuration.nix by itself.
              modules =
                map (f: "auto:" + f) (
                  builtins.filter (f: builtins.pathExists (flakeDir + "/${f}")) [
                    "machines/${name}/configuration.nix"
                    "machines/${name}/hardware-configuration.nix"
                  ]
                )
                ++ map describe (m.imports or [ ]);
              clanName = meta.name;
              # Anything else the machine module says (nothing, after a conversion).
              rest = attrNames (removeAttrs m [ "imports" "nixpkgs" ]);
            };
          }) machines;
          nixosModules = { };
          clanInternals = { };
        };
      };
    nixosModules.clanCore = module "clan-core.nixosModules.clanCore";
    flakeModules.default = module "clan-core.flakeModules.default";
  };

  # flake-parts' mkFlake, as far as machines go: the module's `flake`
  # outputs, and with clan-core's flake module, its `clan` block built by
  # the stand-in lib.clan.
  flakeParts.lib.mkFlake =
    _: module:
    let
      m =
        if isFunction module then
          module {
            inherit lib inputs self;
          }
        else
          module;
      withClan = builtins.elem clanCore.flakeModules.default (m.imports or [ ]);
    in
    (m.flake or { })
    // (
      if withClan then
        { inherit ((clanCore.lib.clan (m.clan or { })).config) nixosConfigurations; }
      else
        { }
    );

  standins = {
    nixpkgs = nixpkgsNamed "nixpkgs";
    nixpkgs-old = nixpkgsNamed "nixpkgs-old";
    home-manager = {
      nixosModules.home-manager = module "home-manager.nixosModules.home-manager";
      nixosModules.default = module "home-manager.nixosModules.default";
      lib.homeManagerConfiguration = _: throw "stand-in home-manager: not evaluated";
    };
    sops-nix.nixosModules.sops = module "sops-nix.nixosModules.sops";
    disko.nixosModules.disko = module "disko.nixosModules.disko";
    darwin.lib.darwinSystem = _: throw "stand-in nix-darwin: not evaluated";
    clan-core = clanCore;
    flake-parts = flakeParts;
  };

  flake = import (flakeDir + "/flake.nix");
  # The declared inputs, and those the outputs' pattern names (a flake may
  # take `nixpkgs` from the registry without declaring it).
  named = (flake.inputs or { }) // removeAttrs (builtins.functionArgs flake.outputs) [ "self" ];
  inputs = mapAttrs (n: _: standins.${n}) named // {
    inherit self;
  };
  self = flake.outputs inputs // {
    outPath = root;
  };
  reports = mapAttrs (n: c: c._report) self.nixosConfigurations;
in
{
  machines = mapAttrs (
    n: r:
    removeAttrs r [
      "clanName"
      "rest"
    ]
    // {
      extra = r.rest or [ ];
    }
  ) reports;
  clanNames = map (r: r.clanName or null) (builtins.attrValues reports);
}
