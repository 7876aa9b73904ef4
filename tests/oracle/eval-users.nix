# Test oracle: the effective `users.users` and `home-manager.users` of one
# host, computed by a small, self-contained copy of the NixOS module system
# (no nixpkgs needed). See README.md next to this file.
#
#   nix-instantiate --store dummy:// --eval --strict --json --expr \
#     'import ./eval-users.nix { modules = [ /repo/hosts/alpha ]; repoRoot = "/repo"; }'
#
# Output: { repoRoot; users = { <name> = {..}; }; home-manager = { <name> = {..}; }; }
{
  # the host's entry modules: paths (or absolute path strings), attrsets, functions
  modules,
  # echoed back in the output so the caller can make paths repo-relative
  repoRoot ? null,
  # extra module arguments, like nixosSystem's specialArgs
  specialArgs ? { },
  # names added to the stub `pkgs`
  extraPkgs ? [ ],
  # Clan: the host's machine name, and the inventory, either as `clanFile`
  # (clan.nix: its `inventory` is read) or as an attrset `inventory`;
  # relative strings in `extraModules` are relative to `inventoryDir` (the
  # clan's directory; default `repoRoot`, else clan.nix's). With `hostName`
  # and an inventory, the `users` service instances that apply to the host
  # are added as modules (see "clan services" below).
  hostName ? null,
  clanFile ? null,
  inventory ? null,
  inventoryDir ? null,
}:
let
  inherit (builtins)
    all
    any
    attrNames
    concatLists
    concatMap
    concatStringsSep
    elem
    elemAt
    filter
    foldl'
    functionArgs
    genList
    head
    isAttrs
    isFunction
    isList
    isPath
    isString
    length
    listToAttrs
    mapAttrs
    removeAttrs
    sort
    split
    stringLength
    substring
    tail
    zipAttrsWith
    ;

  ############################################################################
  # lib stub
  ############################################################################

  id = x: x;
  imap1 = f: xs: genList (i: f (i + 1) (elemAt xs i)) (length xs);
  imap0 = f: xs: genList (i: f i (elemAt xs i)) (length xs);
  optional = c: x: if c then [ x ] else [ ];
  optionals = c: xs: if c then xs else [ ];
  optionalString = c: s: if c then s else "";
  optionalAttrs = c: s: if c then s else { };
  nameValuePair = name: value: { inherit name value; };
  genAttrs = names: f: listToAttrs (map (n: nameValuePair n (f n)) names);
  filterAttrs =
    pred: set:
    listToAttrs (
      concatMap (n: if pred n set.${n} then [ (nameValuePair n set.${n}) ] else [ ]) (attrNames set)
    );
  mapAttrs' = f: set: listToAttrs (map (n: f n set.${n}) (attrNames set));
  mapAttrsToList = f: set: map (n: f n set.${n}) (attrNames set);
  hasPrefix = pre: s: substring 0 (stringLength pre) s == pre;
  hasSuffix =
    suf: s:
    let
      ls = stringLength s;
      lf = stringLength suf;
    in
    ls >= lf && substring (ls - lf) lf s == suf;
  removePrefix =
    pre: s: if hasPrefix pre s then substring (stringLength pre) (stringLength s) s else s;
  removeSuffix =
    suf: s: if hasSuffix suf s then substring 0 (stringLength s - stringLength suf) s else s;
  regexChars = [
    "\\"
    "["
    "]"
    "{"
    "}"
    "("
    ")"
    "^"
    "$"
    "?"
    "*"
    "+"
    "|"
    "."
  ];
  escapeRegex = builtins.replaceStrings regexChars (map (c: "\\" + c) regexChars);
  splitString = sep: s: filter isString (split (escapeRegex sep) (toString s));
  unique = foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];
  flatten = x: if isList x then concatMap flatten x else [ x ];
  toList = x: if isList x then x else [ x ];
  foldr =
    op: nul: xs:
    let
      len = length xs;
      go = i: if i == len then nul else op (elemAt xs i) (go (i + 1));
    in
    go 0;
  attrByPath =
    path: default: set:
    if path == [ ] then
      set
    else if isAttrs set && set ? ${head path} then
      attrByPath (tail path) default set.${head path}
    else
      default;
  setAttrByPath = path: v: if path == [ ] then v else { ${head path} = setAttrByPath (tail path) v; };
  recursiveUpdate =
    lhs: rhs:
    zipAttrsWith (
      n: vs:
      if length vs == 1 then
        head vs
      else if isAttrs (elemAt vs 0) && isAttrs (elemAt vs 1) then
        recursiveUpdate (elemAt vs 0) (elemAt vs 1)
      else
        elemAt vs 1
    ) [ lhs rhs ];
  isPackage = v: isAttrs v && (v ? __stubPackage || (v.type or null) == "derivation");

  mkIf = condition: content: {
    _type = "if";
    inherit condition content;
  };
  mkMerge = contents: {
    _type = "merge";
    inherit contents;
  };
  mkOverride = priority: content: {
    _type = "override";
    inherit priority content;
  };
  mkOrder = priority: content: {
    _type = "order";
    inherit priority content;
  };
  mkOption = attrs: attrs // { _type = "option"; };

  # `types.*`: every type accepts anything; `attrsOf`/`submodule` remember
  # their arguments so a declared `users.users` extension can be found.
  mkType = name: extra: { _type = "option-type"; inherit name; } // extra;
  simpleTypeNames = [
    "anything"
    "attrs"
    "bool"
    "commas"
    "envVar"
    "float"
    "int"
    "lines"
    "nonEmptyStr"
    "number"
    "package"
    "path"
    "pathInStore"
    "port"
    "raw"
    "shellPackage"
    "singleLineStr"
    "str"
    "string"
    "unspecified"
  ];
  wrapType = name: t: mkType name { elemType = t; };
  numberTypes = genAttrs [
    "unsigned"
    "positive"
    "nonnegative"
    "u8"
    "u16"
    "u32"
    "u64"
    "s8"
    "s16"
    "s32"
    "s64"
  ] (n: mkType n { }) // {
    between = _: _: mkType "between" { };
  };
  types = genAttrs simpleTypeNames (n: mkType n { }) // {
    listOf = wrapType "listOf";
    nonEmptyListOf = wrapType "listOf";
    attrsOf = wrapType "attrsOf";
    lazyAttrsOf = wrapType "attrsOf";
    nullOr = wrapType "nullOr";
    uniq = wrapType "uniq";
    unique = _: wrapType "uniq";
    functionTo = wrapType "functionTo";
    passwdEntry = t: t;
    addCheck = t: _: t;
    either = a: b: mkType "either" { };
    oneOf = _: mkType "oneOf" { };
    enum = _: mkType "enum" { };
    strMatching = _: mkType "strMatching" { };
    separatedString = _: mkType "separatedString" { };
    coercedTo = _: _: t: t;
    submodule = m: mkType "submodule" { modules = toList m; };
    submoduleWith =
      {
        modules ? [ ],
        ...
      }:
      mkType "submodule" { inherit modules; };
    deferredModule = mkType "deferredModule" { };
    deferredModuleWith = _: mkType "deferredModule" { };
    ints = numberTypes;
    numbers = numberTypes;
  };

  self = {
    inherit
      attrByPath
      escapeRegex
      filterAttrs
      flatten
      foldr
      genAttrs
      hasPrefix
      hasSuffix
      id
      imap0
      imap1
      isPackage
      mapAttrs'
      mapAttrsToList
      mkIf
      mkMerge
      mkOption
      mkOrder
      mkOverride
      nameValuePair
      optional
      optionalAttrs
      optionalString
      optionals
      recursiveUpdate
      removePrefix
      removeSuffix
      setAttrByPath
      splitString
      toList
      types
      unique
      ;
    fold = foldr;
    foldl = foldl';
    const = x: _: x;
    flip =
      f: a: b:
      f b a;
    pipe = foldl' (x: f: f x);
    fix =
      f:
      let
        x = f x;
      in
      x;
    last = xs: elemAt xs (length xs - 1);
    init = xs: genList (elemAt xs) (length xs - 1);
    take = n: xs: genList (elemAt xs) (if n < length xs then n else length xs);
    count = pred: xs: length (filter pred xs);
    findFirst =
      pred: default: xs:
      let
        found = filter pred xs;
      in
      if found == [ ] then default else head found;
    subtractLists = e: filter (x: !(elem x e));
    intersectLists = e: filter (x: elem x e);
    reverseList = xs: genList (i: elemAt xs (length xs - 1 - i)) (length xs);
    range = a: b: if a > b then [ ] else genList (i: a + i) (b - a + 1);
    getAttrFromPath = path: set: attrByPath path (throw "missing ${concatStringsSep "." path}") set;
    hasAttrByPath =
      path: set:
      let
        missing = {
          __missing = true;
        };
      in
      (attrByPath path missing set) != missing;
    concatMapStringsSep =
      sep: f: xs:
      concatStringsSep sep (map f xs);
    concatMapStrings = f: xs: concatStringsSep "" (map f xs);
    concatStrings = concatStringsSep "";
    fileContents = f: removeSuffix "\n" (builtins.readFile f);
    toUpper = builtins.replaceStrings (self.stringToCharacters "abcdefghijklmnopqrstuvwxyz") (
      self.stringToCharacters "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    );
    toLower = builtins.replaceStrings (self.stringToCharacters "ABCDEFGHIJKLMNOPQRSTUVWXYZ") (
      self.stringToCharacters "abcdefghijklmnopqrstuvwxyz"
    );
    stringToCharacters = s: genList (i: substring i 1 s) (stringLength s);
    boolToString = b: if b then "true" else "false";
    versionAtLeast = a: b: builtins.compareVersions a b >= 0;
    versionOlder = a: b: builtins.compareVersions a b < 0;
    escapeShellArg = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString s) + "'";
    makeBinPath = ps: concatStringsSep ":" (map (p: "${p}/bin") ps);
    getExe = p: "${p}/bin/${p.pname or p.name}";
    getBin = p: p;
    isDerivation = isPackage;
    warn = _: x: x;
    warnIf = _: _: x: x;
    trace = _: x: x;
    assertMsg = c: _: c;
    literalExpression = text: {
      _type = "literalExpression";
      inherit text;
    };
    literalMD = text: {
      _type = "literalMD";
      inherit text;
    };
    mdDoc = id;
    mkDefault = mkOverride 1000;
    mkForce = mkOverride 50;
    mkOptionDefault = mkOverride 1500;
    mkImageMediaOverride = mkOverride 60;
    mkVMOverride = mkOverride 10;
    mkBefore = mkOrder 500;
    mkAfter = mkOrder 1500;
    mkEnableOption =
      name:
      mkOption {
        default = false;
        type = types.bool;
        description = "Whether to enable ${name}.";
      };
    mkPackageOption =
      pkgs: name:
      {
        default ? [ name ],
        ...
      }:
      mkOption {
        type = types.package;
        default = if default == null then null else attrByPath (toList default) null pkgs;
      };
    mkAliasDefinitions = _: throw "eval-users.nix: lib.mkAliasDefinitions is not supported by the oracle";
    mkAliasOptionModule = _: _: { };
    mkRenamedOptionModule = _: _: { };
    mkRemovedOptionModule = _: _: { };
    mkChangedOptionModule = _: _: _: { };
    mkMergedOptionModule = _: _: _: { };
  };
  lib = builtins // self // {
    modules = self;
    options = self;
    lists = builtins // self;
    strings = builtins // self;
    attrsets = builtins // self;
    trivial = builtins // self;
    nixosSystem = _: throw "eval-users.nix: lib.nixosSystem is not available in the oracle";
  };

  ############################################################################
  # pkgs stub: every listed name is a derivation-like marker
  ############################################################################

  pkgNames = [
    "alacritty"
    "bash"
    "bashInteractive"
    "bat"
    "btop"
    "chromium"
    "coreutils"
    "curl"
    "dash"
    "direnv"
    "discord"
    "docker"
    "docker-compose"
    "element-desktop"
    "emacs"
    "eza"
    "fd"
    "file"
    "firefox"
    "fish"
    "fzf"
    "gh"
    "gimp"
    "git"
    "gnupg"
    "go"
    "helix"
    "home-manager"
    "htop"
    "jq"
    "keepassxc"
    "kitty"
    "less"
    "libreoffice"
    "lsof"
    "mpv"
    "nano"
    "neovim"
    "nodejs"
    "nushell"
    "openssh"
    "pass"
    "podman"
    "postgresql"
    "postgresql_15"
    "postgresql_16"
    "python3"
    "ripgrep"
    "rsync"
    "screen"
    "signal-desktop"
    "starship"
    "tailscale"
    "thunderbird"
    "tmux"
    "tree"
    "unzip"
    "vim"
    "vlc"
    "vscode"
    "wget"
    "xonsh"
    "yq"
    "zip"
    "zoxide"
    "zsh"
  ] ++ extraPkgs;
  mkPkg = name: {
    type = "derivation";
    __stubPackage = name;
    inherit name;
    pname = name;
    outPath = "/stub/${name}";
    drvPath = "/stub/${name}.drv";
    shellPath = "/bin/${name}";
    meta = { };
  };
  pkgs = genAttrs pkgNames mkPkg // {
    inherit lib;
    system = "x86_64-linux";
    stdenv = {
      isLinux = true;
      isDarwin = false;
      hostPlatform.system = "x86_64-linux";
    };
    writeShellScriptBin = name: _: mkPkg name;
    writeShellScript = name: _: mkPkg name;
    writeScriptBin = name: _: mkPkg name;
    writeText = name: _: mkPkg name;
  };

  # `modulesPath + "/…"` is a string under this prefix; importing it yields `{ }`.
  modulesPath = "/stub-modules";

  stubSelf = {
    inputs = stubInputs;
    outPath = if repoRoot == null then "/stub-self" else toString repoRoot;
  };
  stubInputs = {
    self = stubSelf;
    home-manager.nixosModules = {
      home-manager = { };
      default = { };
    };
    clan-core = {
      clanModules = { };
      clanServices = { };
      nixosModules = { };
    };
  };

  ############################################################################
  # definitions and their properties
  ############################################################################

  absent = {
    _type = "__absent";
  };
  propType = v: if isAttrs v then v._type or "" else "";
  isAbsent = v: propType v == "__absent";
  isOptionDecl = v: propType v == "option";
  isPlainAttrs =
    v: isAttrs v && !(v ? _type) && !(v ? __conflict) && !(v ? outPath) && !(isPackage v);
  conflict = reason: values: {
    __conflict = values;
    __reason = reason;
  };

  # Shape of a definition without evaluating any condition: true for an
  # attribute set (a namespace or a submodule), false for a leaf.
  shapes =
    v:
    let
      t = propType v;
    in
    if t == "merge" then
      concatMap shapes v.contents
    else if t == "if" || t == "override" || t == "order" then
      shapes v.content
    else if t == "__absent" then
      [ ]
    else
      [ (isPlainAttrs v) ];

  # NixOS `pushDownProperties`: lazily move mkIf / mkOverride (and mkOrder)
  # into the attributes of a namespace; conditions are not evaluated here.
  pushDown =
    v:
    let
      t = propType v;
    in
    if t == "merge" then
      concatMap pushDown v.contents
    else if t == "if" then
      map (mapAttrs (_: mkIf v.condition)) (pushDown v.content)
    else if t == "override" then
      map (mapAttrs (_: mkOverride v.priority)) (pushDown v.content)
    else if t == "order" then
      map (mapAttrs (_: mkOrder v.priority)) (pushDown v.content)
    else if t == "__absent" then
      [ ]
    else
      [ v ];

  # NixOS `dischargeProperties`, generous: also looks through mkOverride and
  # mkOrder; the outermost priority / order wins.
  discharge =
    prio: order: v:
    let
      t = propType v;
    in
    if t == "merge" then
      concatMap (discharge prio order) v.contents
    else if t == "if" then
      (if v.condition then discharge prio order v.content else [ ])
    else if t == "override" then
      discharge (if prio == null then v.priority else prio) order v.content
    else if t == "order" then
      discharge prio (if order == null then v.priority else order) v.content
    else if t == "__absent" then
      [ ]
    else
      [
        {
          value = v;
          prio = if prio == null then 100 else prio;
          order = if order == null then 1000 else order;
        }
      ];

  # discharge, keep the highest priority (lowest number), sort by mkOrder
  # (stable, so module order is kept within one order priority)
  finalDefs =
    defs:
    let
      ds = concatMap (discharge null null) defs;
      best = foldl' (a: d: if d.prio < a then d.prio else a) 9999 ds;
      kept = filter (d: d.prio == best) ds;
      sorted = if any (d: d.order != 1000) kept then sort (a: b: a.order < b.order) kept else kept;
    in
    map (d: d.value) sorted;

  ############################################################################
  # merging, one node of the option tree at a time
  ############################################################################

  autoSchema = {
    _node = "auto";
  };
  optionSchema = {
    _node = "option";
  };
  childSchema = schema: n: (schema.children or { }).${n} or (schema.default or autoSchema);
  childDecl =
    decl: n: if isAttrs decl && !(isOptionDecl decl) then decl.${n} or null else null;

  mkNode =
    schema: decl: path: defs:
    let
      kind = schema._node or "auto";
    in
    if kind == "attrsOfSubmodule" then
      attrsOfSubmoduleNode schema decl path defs
    else if isOptionDecl decl then
      optionNode decl path defs
    else if kind == "option" then
      optionNode null path defs
    else if kind == "namespace" || isAttrs decl then
      namespaceNode schema decl path defs
    else
      autoNode path defs;

  # undeclared: a namespace if every definition is an attribute set
  autoNode =
    path: defs:
    let
      sh = concatMap shapes defs;
    in
    if sh != [ ] && all id sh then namespaceNode autoSchema null path defs else optionNode null path defs;

  namespaceNode =
    schema: decl: path: defs:
    let
      pushed = concatMap pushDown defs;
      aliases = schema.aliases or { }; # alias name -> target name
      canonical = n: aliases.${n} or n;
      sourcesOf = target: [ target ] ++ filter (a: aliases.${a} == target) (attrNames aliases);
      defsFor =
        name: concatMap (set: concatMap (k: optional (set ? ${k}) set.${k}) (sourcesOf name)) pushed;
      declNames = if isAttrs decl && !(isOptionDecl decl) then attrNames decl else [ ];
      names = attrNames (
        listToAttrs (map (n: nameValuePair (canonical n) null) (concatMap attrNames pushed ++ declNames))
      );
      result = genAttrs names (
        n: mkNode (childSchema schema n) (childDecl decl n) (path ++ [ n ]) (defsFor n)
      );
      aliasValues = listToAttrs (
        concatMap (a: optional (result ? ${aliases.${a}}) (nameValuePair a result.${aliases.${a}})) (
          attrNames aliases
        )
      );
    in
    result // aliasValues;

  optionNode =
    decl: path: defs:
    let
      withDefault = defs ++ optional (decl != null && decl ? default) (self.mkOptionDefault decl.default);
      vals = finalDefs withDefault;
    in
    if vals == [ ] then absent else mergeValues path vals;

  mergeValues =
    path: vals:
    if all isList vals then
      concatLists vals
    else if all isPlainAttrs vals then
      autoNode path vals
    else if all isPackage vals then
      (if length vals == 1 then head vals else conflict "package option defined more than once" vals)
    else if all (v: v == head vals) vals then
      head vals
    else
      conflict "conflicting definitions" vals;

  # `attrsOf (submodule …)`: users.users, home-manager.users
  attrsOfSubmoduleNode =
    schema: decl: path: defs:
    let
      sub = schema.sub;
      withDefault = defs ++ optional (isOptionDecl decl && decl ? default) (self.mkOptionDefault decl.default);
      top = finalDefs withDefault;
      # modules added by `options.<path> = mkOption { type = attrsOf (submodule …); }`
      declaredModules =
        if isOptionDecl decl then
          concatMap (
            o:
            let
              t = o.type or { };
              elemType = t.elemType or { };
            in
            if (t.name or "") == "attrsOf" && (elemType.name or "") == "submodule" then elemType.modules else [ ]
          ) decl.decls
        else
          [ ];
      perName = zipAttrsWith (_: vs: finalDefs vs) top;
      present = filter (n: perName.${n} != [ ]) (attrNames perName);
      wrap =
        v:
        if sub.shorthandOnlyDefinesConfig && isAttrs v then
          { config = v; }
        else
          {
            imports = [ v ];
          };
      evalOne =
        name:
        (evalModules {
          modules = (sub.modules or [ ]) ++ declaredModules ++ map wrap perName.${name};
          schema = sub.schema;
          args = (sub.args or { }) // {
            inherit name;
          };
        }).config;
    in
    genAttrs present evalOne;

  ############################################################################
  # module collection (like lib/modules.nix: breadth-first genericClosure,
  # deduplicated by key = the module's path, or "<parent>:anon-<n>")
  ############################################################################

  mergeDecls =
    trees:
    let
      opts = filter isOptionDecl trees;
      withDefault = filter (o: o ? default) opts;
    in
    if opts != [ ] then
      head opts
      // {
        decls = opts;
      }
      // optionalAttrs (withDefault != [ ]) { default = (head withDefault).default; }
    else
      zipAttrsWith (_: mergeDecls) (filter isAttrs trees);

  unify =
    m:
    if m ? config || m ? options then
      {
        imports = m.imports or [ ];
        options = m.options or { };
        config = m.config or { };
      }
    else
      {
        imports = m.imports or [ ];
        options = { };
        config = removeAttrs m [
          "_class"
          "_file"
          "key"
          "disabledModules"
          "require"
          "imports"
          "freeformType"
        ];
      };

  evalModules =
    {
      modules,
      schema,
      args,
    }:
    let
      base = {
        inherit config options lib;
        specialArgs = args;
      };
      avail = args // base;
      callModule =
        f:
        let
          fa = functionArgs f;
          wanted = filter (n: avail ? ${n} || !fa.${n}) (attrNames fa);
          extra = genAttrs wanted (n: if avail ? ${n} then avail.${n} else config._module.args.${n});
        in
        f (base // extra);
      loadModule =
        parentKey: n: m:
        let
          pathLike = isPath m || isString m;
          file = toString m;
          raw =
            if pathLike && hasPrefix modulesPath file then
              { }
            else if pathLike then
              import m
            else
              m;
          applied = if isFunction raw then callModule raw else raw;
          key =
            if isAttrs applied && applied ? key then
              toString applied.key
            else if pathLike then
              file
            else
              "${parentKey}:anon-${toString n}";
        in
        {
          inherit key;
          module = unify applied;
        };
      collected = map (e: e.module) (
        builtins.genericClosure {
          startSet = imap1 (loadModule "") modules;
          operator = e: imap1 (loadModule e.key) e.module.imports;
        }
      );
      options = mergeDecls (map (m: m.options) collected);
      config = mkNode schema options [ ] (map (m: m.config) collected);
    in
    {
      inherit config options;
    };

  ############################################################################
  # clan services: clan-core's `users` service (clanServices/users)
  ############################################################################

  # clan.nix is a module: an attrset or a function called with stub
  # arguments (`config` is its own result); its `imports` (paths) are read
  # too, their inventories merged (attrsets recursively, lists concatenated).
  loadClanModule =
    file:
    let
      raw = import file;
      stubArgs = {
        inherit lib pkgs;
        self = stubSelf;
        inputs = stubInputs;
        config = result;
        options = { };
        specialArgs = { };
        clan-core = stubInputs.clan-core;
      };
      result =
        if isFunction raw then
          let
            fa = functionArgs raw;
            wanted = filter (n: stubArgs ? ${n} || !fa.${n}) (attrNames fa);
          in
          raw (
            genAttrs wanted (
              n: stubArgs.${n} or (throw "eval-users.nix: clan.nix argument `${n}` has no stub in the oracle")
            )
          )
        else
          raw;
      own = result.inventory or (result.clan.inventory or { });
      imported = map loadClanModule (filter (m: isPath m || isString m) (result.imports or [ ]));
    in
    foldl' mergeInventory { } (imported ++ [ own ]);

  mergeInventory =
    a: b:
    if isAttrs a && isAttrs b && !(a ? _type) && !(b ? _type) then
      zipAttrsWith (_: vs: if length vs == 1 then head vs else mergeInventory (elemAt vs 0) (elemAt vs 1)) [
        a
        b
      ]
    else if isList a && isList b then
      a ++ b
    else
      b;

  clanInventory =
    if inventory != null then
      inventory
    else if clanFile != null then
      loadClanModule clanFile
    else
      null;
  # the clan's `directory` (the flake root): relative strings in
  # `extraModules` are relative to it; path literals are already absolute
  clanDir =
    if inventoryDir != null then
      toString inventoryDir
    else if repoRoot != null then
      toString repoRoot
    else if clanFile != null then
      dirOf (toString clanFile)
    else
      null;

  # `[ "a" "b" ]` or `{ a = { }; b = { }; }`
  namesOf = x: if isList x then x else if isAttrs x then attrNames x else [ ];

  hostEntry =
    if clanInventory == null || hostName == null then
      { }
    else (clanInventory.machines or { }).${hostName} or { };
  # every clan machine is tagged `all` and with its class (`nixos`)
  hostTags = [
    "all"
    (hostEntry.machineClass or "nixos")
  ] ++ namesOf (hostEntry.tags or [ ]);

  isUsersInstance =
    inst:
    let
      m = inst.module or { };
    in
    (m.name or null) == "users" && elem (m.input or "clan-core") [
      "clan-core"
      "clan"
    ];

  # role and machine settings are two definitions of the same options:
  # lists concatenate, attrsets merge, equal scalars agree, mkDefault & co.
  # are honoured; different scalars are an error (as in clan).
  mergeSettings =
    instanceName: defs:
    let
      merged = namespaceNode autoSchema null [ ] defs;
      get =
        path: default:
        let
          v = attrByPath path absent merged;
        in
        if isAbsent v then
          default
        else if isAttrs v && v ? __conflict then
          throw "eval-users.nix: users instance `${instanceName}`: conflicting settings for ${concatStringsSep "." path}"
        else
          v;
      keysSetting = get [ "openssh" "authorizedKeys" ] { };
    in
    {
      user = get [ "user" ] instanceName;
      groups = get [ "groups" ] [ ];
      # clan-core has had both `openssh.authorizedKeys = [ … ]` and
      # `openssh.authorizedKeys.keys` / `.keyFiles`
      keys = if isList keysSetting then keysSetting else get [ "openssh" "authorizedKeys" "keys" ] [ ];
      keyFiles = if isList keysSetting then [ ] else get [ "openssh" "authorizedKeys" "keyFiles" ] [ ];
    };

  # a relative string in extraModules is relative to the clan's directory
  resolveModule =
    m:
    if isString m && !(hasPrefix "/" m) then
      (if clanDir == null then throw "eval-users.nix: relative extraModule `${m}` needs inventoryDir" else "${clanDir}/${m}")
    else
      m;

  usersInstanceModules =
    instanceName: inst:
    let
      role = (inst.roles or { }).default or { };
      machines = role.machines or { };
      byMachine = if isList machines then elem hostName machines else machines ? ${hostName};
      byTag = any (t: elem t hostTags) (namesOf (role.tags or [ ]));
      machineSettings =
        if isAttrs machines && machines ? ${hostName} then machines.${hostName}.settings or { } else { };
      s = mergeSettings instanceName [
        (role.settings or { })
        machineSettings
      ];
      user = s.user;
      # NixOS defaults (isNormalUser false, empty lists) are left unset, as
      # the oracle drops unset options: the effective value is the same
      authorizedKeys =
        optionalAttrs (s.keys != [ ]) { keys = s.keys; }
        // optionalAttrs (s.keyFiles != [ ]) { keyFiles = s.keyFiles; };
      serviceModule = {
        key = "clan-service:users:${instanceName}";
        users.users.${user} =
          {
            hashedPasswordFile = "<clan vars user-password-${user}>";
          }
          // optionalAttrs (user != "root") { isNormalUser = true; }
          // optionalAttrs (s.groups != [ ]) { extraGroups = s.groups; }
          // optionalAttrs (authorizedKeys != { }) { openssh.authorizedKeys = authorizedKeys; };
      };
    in
    if hostName != null && isUsersInstance inst && (byMachine || byTag) then
      {
        inherit user;
        modules = [ serviceModule ] ++ map resolveModule (role.extraModules or [ ]);
      }
    else
      null;

  clanServiceInstances =
    if clanInventory == null then
      [ ]
    else
      filter (x: x != null) (
        mapAttrsToList usersInstanceModules (clanInventory.instances or { })
      );
  clanServiceModules = concatMap (x: x.modules) clanServiceInstances;
  clanServiceUsers = unique (map (x: x.user) clanServiceInstances);

  ############################################################################
  # the host
  ############################################################################

  nixosUserOptions = [
    "autoSubUidGidRange"
    "createHome"
    "cryptHomeLuks"
    "description"
    "enable"
    "expires"
    "extraGroups"
    "group"
    "hashedPassword"
    "hashedPasswordFile"
    "home"
    "homeMode"
    "ignoreShellProgramCheck"
    "initialHashedPassword"
    "initialPassword"
    "isNormalUser"
    "isSystemUser"
    "linger"
    "name"
    "packages"
    "pamMount"
    "password"
    "passwordFile"
    "shell"
    "subGidRanges"
    "subUidRanges"
    "uid"
    "useDefaultShell"
  ];
  nixosUserSchema = {
    _node = "namespace";
    children = genAttrs nixosUserOptions (_: optionSchema) // {
      openssh = {
        _node = "namespace";
        children.authorizedKeys = {
          _node = "namespace";
          children = {
            keys = optionSchema;
            keyFiles = optionSchema;
          };
        };
      };
    };
  };

  topArgs =
    {
      inputs = stubInputs;
      self = stubSelf;
    }
    // specialArgs
    // {
      inherit pkgs modulesPath;
    };

  topSchema = {
    _node = "namespace";
    children = {
      users = {
        _node = "namespace";
        aliases.extraUsers = "users";
        children.users = {
          _node = "attrsOfSubmodule";
          sub = {
            schema = nixosUserSchema;
            shorthandOnlyDefinesConfig = true; # types.submodule
            args = topArgs;
          };
        };
      };
      home-manager = {
        _node = "namespace";
        children.users = {
          _node = "attrsOfSubmodule";
          sub = {
            schema = {
              _node = "namespace";
            };
            shorthandOnlyDefinesConfig = false; # types.submoduleWith: attrsets are full modules
            modules = topConfig.home-manager.sharedModules or [ ];
            args =
              topArgs
              // (topConfig.home-manager.extraSpecialArgs or { })
              // {
                osConfig = topConfig;
                nixosConfig = topConfig;
              };
          };
        };
      };
    };
  };

  topConfig =
    (evalModules {
      modules = modules ++ clanServiceModules;
      schema = topSchema;
      args = topArgs;
    }).config;

  ############################################################################
  # output: plain JSON data
  ############################################################################

  render =
    v:
    if isPath v then
      toString v
    else if isPackage v then
      "pkgs.${v.__stubPackage or v.pname or v.name or "?"}"
    else if isFunction v then
      "<function>"
    else if isList v then
      map render v
    else if isAttrs v then
      (
        if v ? __conflict then
          {
            __conflict = map render v.__conflict;
            inherit (v) __reason;
          }
        else if v ? outPath then
          toString v.outPath
        else
          renderAttrs v
      )
    else
      v;
  # below a user, absent options and empty attribute sets are dropped (NixOS
  # has no "empty namespace"; an unset option is its default either way)
  renderAttrs =
    v:
    filterAttrs (_: x: !(isAttrs x && x == { })) (
      mapAttrs (_: render) (filterAttrs (_: x: !(isAbsent x)) v)
    );
  renderUsers = users: mapAttrs (_: renderAttrs) users;
in
{
  repoRoot = if repoRoot == null then null else toString repoRoot;
  users = renderUsers (topConfig.users.users or { });
  home-manager = renderUsers (topConfig.home-manager.users or { });
  # users the Clan `users` service defines on this host (sorted)
  clanServiceUsers = sort (a: b: a < b) clanServiceUsers;
}
