{
  meta.name = "gina-home";

  inventory.machines = {
    laptop = { };
    desktop = { };
  };

  inventory.instances = { };
}
