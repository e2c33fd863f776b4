#!/bin/sh
# Host settings k0s expects; each is recorded so that clean.sh restores exactly what it changed.
set -e
state=/var/lib/berth-example-k0s
mkdir -p "$state"
if [ -w /proc/sys/net/ipv4/ip_forward ] && [ ! -f "$state/ip_forward" ]; then
  cat /proc/sys/net/ipv4/ip_forward > "$state/ip_forward"
  echo 1 > /proc/sys/net/ipv4/ip_forward
fi
