// k0s carries its components inside its own binary and writes them to <data-dir>/bin on start. The stand-in
// carries the kube-apiserver and kubelet stand-ins (install.ts embeds them) and links the machine's etcd,
// containerd, its runc shim and runc there, as the binaries k0s would bundle.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { K0sPaths } from './k0s-paths.js';

const EMBEDDED_KEY = 'K0S_STANDIN_EMBEDDED_BINARIES';

export const embeddedBinaries = (): Record<string, string> =>
  ((globalThis as Record<string, unknown>)[EMBEDDED_KEY] as Record<string, string>) ?? {};

/** The line install.ts puts in the bundle's header so that embeddedBinaries() finds them. */
export const embeddedBinariesLine = (files: Record<string, string>) =>
  `globalThis.${EMBEDDED_KEY} = ${JSON.stringify(files)};`;

const MACHINE_BINARIES: Record<string, { path: string; controller: boolean }> = {
  etcd: { path: '/usr/bin/etcd', controller: true },
  containerd: { path: '/usr/bin/containerd', controller: false },
  'containerd-shim-runc-v2': { path: '/usr/bin/containerd-shim-runc-v2', controller: false },
  runc: { path: '/usr/sbin/runc', controller: false },
};

function link(target: string, at: string): void {
  try {
    if (lstatSync(at).isSymbolicLink() && readlinkSync(at) === target) return;
    rmSync(at, { force: true });
  } catch {
    // absent
  }
  symlinkSync(target, at);
}

export function stageBinaries(p: K0sPaths, role: { controller: boolean; worker: boolean }): void {
  mkdirSync(p.bin, { recursive: true, mode: 0o755 });
  for (const [name, content] of Object.entries(embeddedBinaries())) {
    const at = join(p.bin, name);
    if (!existsSync(at) || readFileSync(at, 'utf8') !== content) writeFileSync(at, content, { mode: 0o755 });
  }
  for (const [name, b] of Object.entries(MACHINE_BINARIES)) {
    if (b.controller ? role.controller : role.worker) link(b.path, join(p.bin, name));
  }
}
