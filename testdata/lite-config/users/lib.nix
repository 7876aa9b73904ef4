# Not a module: helpers the user files call.
{ lib }:
{
  mkUid = n: 2000 + n;
}
