#!/bin/bash
# Undoes init.sh: stops and disables containerd and the kubelet, puts back every file init.sh replaced,
# removes the files and directories it added, and restores ip_forward.
state=/var/lib/berth-example-kubeadm
[ -d "$state" ] || exit 0
systemctl disable --now kubelet containerd >/dev/null 2>&1 || :
if [ -f "$state/installed" ]; then
  while read -r f; do
    if [ -e "$state/saved$f" ] || [ -L "$state/saved$f" ]; then
      rm -f "$f"
      cp -a "$state/saved$f" "$f"
    else
      rm -f "$f"
    fi
  done < "$state/installed"
fi
systemctl daemon-reload 2>/dev/null || :
if [ -f "$state/created" ]; then
  while read -r how d; do
    # what containerd mounted under it (never the directory itself, which may be a mount of its own)
    awk -v d="$d" 'index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r |
      while read -r m; do umount -l "$m" 2>/dev/null || :; done
    case "$how" in
      absent) rm -rf "$d" ;;
      empty:*) find "$d" -mindepth 1 -delete && chmod "${how#empty:}" "$d" ;;
    esac
  done < <(tac "$state/created")
fi
if [ -f "$state/ip_forward" ] && [ -w /proc/sys/net/ipv4/ip_forward ]; then
  cat "$state/ip_forward" > /proc/sys/net/ipv4/ip_forward
fi
rm -rf "$state"
