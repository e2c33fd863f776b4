import type { ResolvedHost } from '../clusterfile/index.js';
import type { HostSpec } from '../ssh/types.js';

// A Clusterfile host as the SSH layer connects to it.

export function hostSpec(h: ResolvedHost): HostSpec {
  return {
    host: h.ip,
    port: h.port,
    user: h.ssh.user,
    password: h.ssh.password,
    privateKeyPath: h.ssh.privateKeyPath,
    privateKey: h.ssh.privateKey,
    passphrase: h.ssh.passphrase,
  };
}
