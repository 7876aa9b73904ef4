# Everyone's public keys, one attribute set per person.
{
  alice = {
    laptop = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIu8jzPde0IgxLd6GncfBAepfJBd0Kh8oO alice@laptop";
    phone = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOL8dKLzdocJ2isAjIhKtJ0RlgLKOmxgJ alice@phone";
  };
  bob = {
    desktop = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITeKdNnFRIBXuDL7DxtpYlSXpfKtHF4vU bob@desktop";
  };
}
