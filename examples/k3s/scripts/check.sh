#!/bin/sh
# Refuses hosts k3s cannot run on.
set -e
[ "$(uname -s)" = Linux ] || { echo "k3s needs Linux" >&2; exit 1; }
command -v iptables >/dev/null 2>&1 || { echo "k3s needs iptables on $(hostname)" >&2; exit 1; }
