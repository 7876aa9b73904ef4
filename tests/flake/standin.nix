# Calls the project's flake.nix with a stand-in nixpkgs (a few lib
# functions and package builders that return what they were given), and
# reports what each output is made of, as plain data for the test to read.
{ flake }:
let
  systems = [
    "x86_64-linux"
    "aarch64-linux"
    "x86_64-darwin"
    "aarch64-darwin"
  ];
  genAttrs =
    names: f:
    builtins.listToAttrs (
      map (name: {
        inherit name;
        value = f name;
      }) names
    );
  lib = {
    inherit genAttrs;
    importTOML = path: builtins.fromTOML (builtins.readFile path);
    fileset = {
      unions = paths: paths;
      toSource =
        { root, fileset }:
        {
          outPath = "/nix/store/00000000000000000000000000000000-source";
          inherit root fileset;
        };
    };
    optionals = cond: list: if cond then list else [ ];
    optionalString = cond: string: if cond then string else "";
    getExe = drv: "${drv.outPath}/bin/${drv.meta.mainProgram}";
    licenses.mit = "MIT";
  };
  drv =
    name: extra:
    {
      type = "derivation";
      inherit name;
      pname = name;
      outPath = "/nix/store/00000000000000000000000000000000-${name}";
    }
    // extra;
  pkgsFor = system: {
    stdenv = {
      hostPlatform = {
        inherit system;
        isDarwin = builtins.match ".*-darwin" system != null;
      };
      buildPlatform.canExecute = _: true;
    };
    rustPlatform.buildRustPackage = args: drv args.pname args;
    mkShell = args: drv "shell" args;
    runCommand =
      name: env: script:
      drv name (env // { inherit script; });
  }
  // genAttrs [
    "cargo"
    "rustc"
    "clippy"
    "rustfmt"
    "nix"
    "git"
    "pkg-config"
    "installShellFiles"
    "zlib"
    "libiconv"
    "nixfmt"
  ] (name: drv name { });
  nixpkgs = {
    inherit lib;
    legacyPackages = genAttrs systems pkgsFor;
  };
  self = flake.outputs { inherit self nixpkgs; };
  names = map (p: p.pname);
  report =
    system:
    let
      pkg = self.packages.${system}.default;
    in
    {
      packages = builtins.attrNames self.packages.${system};
      pname = pkg.pname;
      version = pkg.version;
      lockExists = builtins.pathExists pkg.cargoLock.lockFile;
      srcExists = builtins.all builtins.pathExists pkg.src.fileset;
      srcFiles = map (p: baseNameOf (toString p)) pkg.src.fileset;
      nativeBuildInputs = names pkg.nativeBuildInputs;
      buildInputs = names pkg.buildInputs;
      nativeCheckInputs = names pkg.nativeCheckInputs;
      preCheck = pkg.preCheck;
      postInstall = pkg.postInstall;
      mainProgram = pkg.meta.mainProgram;
      description = pkg.meta.description;
      app = {
        inherit (self.apps.${system}.default) type program;
      };
      devShell = names self.devShells.${system}.default.packages;
      checks = builtins.attrNames self.checks.${system};
      checkPackageIsThePackage = self.checks.${system}.package.outPath == pkg.outPath;
      fmtScript = self.checks.${system}.fmt.script;
      formatter = self.formatter.${system}.pname;
    };
in
{
  outputs = builtins.attrNames self;
  description = flake.description;
  nixpkgsUrl = flake.inputs.nixpkgs.url;
  systems = genAttrs systems report;
}
