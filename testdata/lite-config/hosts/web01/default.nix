{ inputs, ... }:
{
  imports = [ inputs.self.nixosModules.nginx ];

  users.users.kim = {
    isNormalUser = true;
    description = "Kim Berg";
    extraGroups = [
      "wheel"
      "nginx"
    ];
  };

  system.stateVersion = "24.05";
}
