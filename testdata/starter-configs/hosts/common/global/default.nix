{ outputs, ... }:
{
  imports = builtins.attrValues outputs.nixosModules;

  nix.settings.experimental-features = [
    "nix-command"
    "flakes"
  ];
}
