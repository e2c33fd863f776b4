import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { onFreePort, PortInUseError, saysPortInUse } from './ports.js';

export interface LoopbackSshd {
  port: number;
  dir: string;
  /** Private key (OpenSSH format) authorized for root. */
  keyPath: string;
  hostKeyPath: string;
  /** Replaces the host key and restarts sshd on the same port. */
  rotateHostKey(): Promise<void>;
}

function keygen(path: string, comment: string): void {
  rmSync(path, { force: true });
  rmSync(`${path}.pub`, { force: true });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
}

/** Starts a root-only sshd on 127.0.0.1 with its own host key and an authorized key; stopped in t.after. */
export async function startLoopbackSshd(t: TestContext): Promise<LoopbackSshd> {
  const dir = mkdtempSync(join(tmpdir(), 't-ssh-sshd-'));
  // sshd refuses to start without its privilege separation directory; it is shared and left in place.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKeyPath = join(dir, 'host_key');
  const keyPath = join(dir, 'id_ed25519');
  keygen(hostKeyPath, 't-ssh-host');
  keygen(keyPath, 't-ssh-client');
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${keyPath}.pub`));
  const config = join(dir, 'sshd_config');
  const configure = (port: number) =>
    writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKeyPath}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'PermitRootLogin yes',
        'PasswordAuthentication yes',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'MaxStartups 100',
        '',
      ].join('\n'),
    );
  let proc: ChildProcess | undefined;
  let port = 0;
  const start = async () => {
    // Its own process group, so that stopping it also ends the per-connection processes it forked.
    proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let err = '';
    proc.stderr?.on('data', (c) => (err += c));
    const started = proc;
    started.once('exit', (code) => {
      if (code && !saysPortInUse(err)) process.stderr.write(`loopback sshd exited ${code}: ${err}\n`);
    });
    // sshd says when it has bound its port (a connection test could reach another process holding it)
    const listening = `Server listening on 127.0.0.1 port ${port}`;
    for (let i = 0; i < 250 && !err.includes(listening) && started.exitCode === null; i++)
      await new Promise((r) => setTimeout(r, 20));
    if (err.includes(listening)) return;
    if (started.exitCode === null) started.kill('SIGKILL');
    if (saysPortInUse(err)) throw new PortInUseError(port, err.trim());
    throw new Error(`loopback sshd did not listen on 127.0.0.1:${port} within 5 s: ${err}`);
  };
  const stop = async () => {
    const p = proc;
    if (!p || p.exitCode !== null || p.pid === undefined) return;
    const exited = new Promise((r) => p.once('exit', r));
    process.kill(-p.pid, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  };
  t.after(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await onFreePort(async (p) => {
    port = p;
    configure(port);
    await start();
  });
  return {
    port,
    dir,
    keyPath,
    hostKeyPath,
    async rotateHostKey() {
      await stop();
      keygen(hostKeyPath, 't-ssh-host-2');
      await start();
    },
  };
}
