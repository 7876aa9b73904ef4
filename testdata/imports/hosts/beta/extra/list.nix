[ ./ci.nix ]
