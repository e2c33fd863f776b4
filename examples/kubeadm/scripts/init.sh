#!/bin/bash
# Prepares a host for kubeadm: installs the container runtime from cri/ and kubeadm, kubelet, kubectl and
# kube-apiserver from bin/, points containerd at the cluster registry, and starts containerd and the kubelet
# through systemd (the kubelet waits, restarting, until kubeadm writes its config). Every file it replaces
# and every directory it creates is recorded, so that clean.sh puts the host back exactly as it was.
set -e
cd "$(dirname "$0")/.."
state=/var/lib/berth-example-kubeadm
mkdir -p "$state/saved"
touch "$state/installed" "$state/created"

# install SRC DEST MODE: a file (or link) that was there before is saved once, a new one is noted as absent
install_file() {
  if ! grep -qxF "$2" "$state/installed"; then
    if [ -e "$2" ] || [ -L "$2" ]; then
      mkdir -p "$state/saved$(dirname "$2")"
      cp -a "$2" "$state/saved$2"
    fi
    echo "$2" >> "$state/installed"
  fi
  install -D -m "$3" "$1" "$2"
}

# a directory the services fill: clean.sh removes it when init.sh found it absent, and empties it (giving it
# back its mode) when init.sh found it empty; one that held something before is left as it is
note_dir() {
  grep -q " $1\$" "$state/created" && return
  if [ ! -e "$1" ]; then
    echo "absent $1" >> "$state/created"
  elif [ -d "$1" ] && [ -z "$(ls -A "$1")" ]; then
    echo "empty:$(stat -c %a "$1") $1" >> "$state/created"
  fi
}

if [ -w /proc/sys/net/ipv4/ip_forward ] && [ ! -f "$state/ip_forward" ]; then
  cat /proc/sys/net/ipv4/ip_forward > "$state/ip_forward"
  echo 1 > /proc/sys/net/ipv4/ip_forward
fi

cri_data=${criData:-/var/lib/containerd}
for d in "$cri_data" /run/containerd /opt/containerd /etc/containerd /etc/systemd/system/kubelet.service.d; do
  note_dir "$d"
done

for f in containerd containerd-shim-runc-v2 runc; do install_file "cri/$f" "/usr/bin/$f" 0755; done
for f in kubeadm kubelet kubectl kube-apiserver; do install_file "bin/$f" "/usr/bin/$f" 0755; done

systemd_cgroup=false
[ -d /run/systemd/system ] && systemd_cgroup=true
registry="${registryDomain:-sealos.hub}:${registryPort:-5000}"
config=$(mktemp)
cat > "$config" <<TOML
version = 2
root = "$cri_data"
state = "/run/containerd"

[grpc]
  address = "/run/containerd/containerd.sock"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$registry/${sandboxImage:-pause:3.9}"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      SystemdCgroup = $systemd_cgroup
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "/etc/containerd/certs.d"
TOML
if [ -n "${registryUsername:-}" ] && [ -n "${registryPassword:-}" ]; then
  cat >> "$config" <<TOML
  [plugins."io.containerd.grpc.v1.cri".registry.configs."$registry".auth]
    username = "$registryUsername"
    password = "$registryPassword"
TOML
fi
install_file "$config" /etc/containerd/config.toml 0600
rm -f "$config"

install_file etc/containerd.service /etc/systemd/system/containerd.service 0644
install_file etc/kubelet.service /etc/systemd/system/kubelet.service 0644
install_file etc/10-kubeadm.conf /etc/systemd/system/kubelet.service.d/10-kubeadm.conf 0644
systemctl daemon-reload
systemctl enable containerd kubelet >/dev/null 2>&1
systemctl restart containerd
systemctl restart kubelet
