#!/usr/bin/env bash
# The Debian packages berth's sandbox hosts, demo and tests use (sshd, the registry, containerd, buildah,
# systemd for the hosts' PID 1, etcd and etcdctl for the kubeadm stand-ins...), installed on a fresh
# Debian 12 machine. Run as root, while no sandbox host runs: the machine's / is every host's lower layer.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "install-debian-packages: run as root" >&2; exit 4; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# kubectl comes preinstalled on this project's machines; Debian's kubernetes-client conflicts with it.
apt-get install -y -qq --no-install-recommends \
  openssh-server openssh-client iproute2 iptables docker-registry containerd runc skopeo umoci \
  busybox-static sudo procps psmisc ca-certificates openssl python3-minimal buildah \
  systemd dbus libpam-systemd etcd-server etcd-client >/dev/null
if ! command -v kubectl >/dev/null; then
  echo "install-debian-packages: kubectl is missing; it is expected preinstalled (do not install kubernetes-client)" >&2
  exit 4
fi
