#!/bin/bash
# Refuses hosts this image cannot run on: kubeadm restarts the kubelet through systemd, and kube-proxy and
# the CNI need iptables.
set -e
[ "$(uname -s)" = Linux ] || { echo "kubeadm needs Linux" >&2; exit 1; }
[ -d /run/systemd/system ] || { echo "kubeadm needs systemd running on $(hostname)" >&2; exit 1; }
command -v iptables >/dev/null 2>&1 || { echo "kubeadm needs iptables on $(hostname)" >&2; exit 1; }
