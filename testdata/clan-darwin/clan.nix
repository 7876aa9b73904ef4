{
  # Ensure this is unique among all clans you want to use.
  meta.name = "clan-darwin";

  inventory.machines = {
    office = { };
    studio = { };
    # The mac mini under the desk: Clan builds it with nix-darwin.
    mini = {
      machineClass = "darwin";
      deploy.targetHost = "root@mini.lan";
    };
  };
}
