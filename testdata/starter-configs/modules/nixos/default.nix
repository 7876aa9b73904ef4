# Every module here is imported by every host, through
# `builtins.attrValues outputs.nixosModules`.
{
  backup = import ./backup.nix;
  printing = ./printing.nix;
}
