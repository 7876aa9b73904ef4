# The Clan: machines are the directories under machines/.
self:

self.inputs.clan-core.lib.clan {
  inherit self;
  meta.name = "compass";
}
