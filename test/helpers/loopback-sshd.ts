import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export interface LoopbackSshd {
  port: number;
  dir: string;
  /** Private key (OpenSSH format) authorized for root. */
  keyPath: string;
  hostKeyPath: string;
  /** Replaces the host key and restarts sshd on the same port. */
  rotateHostKey(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on 127.0.0.1:${port} within 5 s`);
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
  const port = await freePort();
  const hostKeyPath = join(dir, 'host_key');
  const keyPath = join(dir, 'id_ed25519');
  keygen(hostKeyPath, 't-ssh-host');
  keygen(keyPath, 't-ssh-client');
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${keyPath}.pub`));
  const config = join(dir, 'sshd_config');
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
  const start = async () => {
    // Its own process group, so that stopping it also ends the per-connection processes it forked.
    proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let err = '';
    proc.stderr?.on('data', (c) => (err += c));
    proc.once('exit', (code) => {
      if (code) process.stderr.write(`loopback sshd exited ${code}: ${err}\n`);
    });
    await waitListening(port);
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
  await start();
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
