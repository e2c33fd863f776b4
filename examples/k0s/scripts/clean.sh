#!/bin/sh
# Undoes init.sh.
state=/var/lib/berth-example-k0s
if [ -f "$state/ip_forward" ] && [ -w /proc/sys/net/ipv4/ip_forward ]; then
  cat "$state/ip_forward" > /proc/sys/net/ipv4/ip_forward
fi
rm -rf "$state"
