let
  desktop = [
    ./core
    ./users.nix
  ];

  laptop = desktop ++ [ ./hardware/bluetooth.nix ];
in
{
  inherit desktop laptop;
}
