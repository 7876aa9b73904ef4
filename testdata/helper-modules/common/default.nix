{ pkgs, ... }:

{
  time.timeZone = "Europe/Berlin";
  programs.zsh.enable = true;

  # The family account on every workstation.
  users.users.kim = {
    isNormalUser = true;
    description = "Kim";
    shell = pkgs.zsh;
  };
}
