/**
 * berth's SSH layer. Everything other modules need is exported here:
 *
 *   const pool = new SshPool({ acceptNewHostKey?, connectTimeoutMs?, knownHostsPath? });
 *   const s = await pool.session({ host, port?, user?, password?, privateKeyPath?, passphrase?, sudoPassword? });
 *   await s.exec('systemctl restart kubelet', { sudo: true, timeoutMs, signal, onLine, allowFailure, stdin });
 *   await s.putFile(bufferOrLocalPath, '/etc/x.conf', { mode: 0o600, sudo: true });
 *   await s.putTree(localDir, '/opt/berth/rootfs');   // -> { bytesSent, filesSent, filesSkipped }
 *   await s.fetchFile('/etc/kubernetes/admin.conf', localPath, { sudo: true });
 *   await execOnHosts(pool, hosts, cmd, { concurrency, onLine: (host, line, stream) => ... });
 *   await copyToHosts(pool, hosts, localDir, remoteDir, { concurrency });
 *   await pool.closeAll();
 *
 * Failures are one line naming the host: ConnectError (unreachable, refused credentials, sudo refused),
 * HostKeyError (changed host key), RemoteCommandError (non-zero exit), TimeoutError, InterruptedError.
 * Host keys are checked against berthPath('known_hosts'): recorded on first use, refused when changed.
 */
export type { ExecOptions, ExecResult } from './exec.js';
export type { PutFileOptions } from './files.js';
export { parseHostList } from './host-list.js';
export { LocalTree } from './local-tree.js';
export {
  copyToHosts,
  type ExecManyOptions,
  execOnHosts,
  type HostOutcome,
  onEachHost,
  throwOnFailure,
} from './many.js';
export { SshPool, type SshPoolOptions } from './pool.js';
export { SshSession } from './session.js';
export { shellQuote } from './shell.js';
export type { HostDiff, TreeCopyResult } from './tree-copy.js';
export { type HostSpec, hostLabel } from './types.js';
