{
  meta.name = "workshop";

  inventory.machines = {
    alpha = { };
    beta = { };
    gamma = { };
  };

  inventory.instances = {
    # OpenSSH host keys and certificates for every machine
    sshd-basic = {
      module.name = "sshd";
      roles.server.tags.all = { };
    };
  };
}
