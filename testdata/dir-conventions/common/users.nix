# Shared user policy. Deployed with `nixos-rebuild --target-host`, no flake yet.
{ config, lib, pkgs, ... }:

{
  users.mutableUsers = false;

  users.users.root.openssh.authorizedKeys.keys = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI9ojfljoQoaF1LlqsajAIxNKu8iS2G8NP admin@bastion"
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRVdD53X83RZJzzzzgEOzdmenCkhvMdga ops@ci"
  ];
}
