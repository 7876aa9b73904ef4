{ ... }:

{
  home.username = "carla";
  home.homeDirectory = "/home/carla";
  home.stateVersion = "24.11";
  programs.git.enable = true;
}
