#!/bin/sh
# Refuses hosts k0s cannot run on: k0s's kube-proxy and kube-router need iptables, its containerd cgroups.
set -e
[ "$(uname -s)" = Linux ] || { echo "k0s needs Linux" >&2; exit 1; }
command -v iptables >/dev/null 2>&1 || { echo "k0s needs iptables on $(hostname)" >&2; exit 1; }
[ -d /sys/fs/cgroup ] || { echo "k0s needs cgroups (/sys/fs/cgroup) on $(hostname)" >&2; exit 1; }
