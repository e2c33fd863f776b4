import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { EnvironmentError } from '../util/errors.js';

const searchPath = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

// Program -> Debian package that provides it, named in the error so the fix is one apt-get away.
const needed: Array<[string, string]> = [
  ['sshd', 'openssh-server'],
  ['ssh-keygen', 'openssh-client'],
  ['ip', 'iproute2'],
  ['tc', 'iproute2'],
  ['unshare', 'util-linux'],
  ['nsenter', 'util-linux'],
  ['pivot_root', 'util-linux'],
  ['useradd', 'passwd'],
  ['chpasswd', 'passwd'],
  ['sudo', 'sudo'],
];

async function findProgram(name: string): Promise<boolean> {
  for (const dir of searchPath) {
    try {
      await access(`${dir}/${name}`, constants.X_OK);
      return true;
    } catch {
      // try the next directory
    }
  }
  return false;
}

/** Sandbox hosts are namespaces on this machine: they need Linux, root and a few standard programs. */
export async function checkSandboxEnvironment(): Promise<void> {
  if (process.platform !== 'linux') {
    throw new EnvironmentError(`sandbox hosts need Linux (this is ${process.platform})`);
  }
  if (process.getuid?.() !== 0) {
    throw new EnvironmentError('sandbox hosts need root: run berth sandbox as root (e.g. with sudo)');
  }
  const found = await Promise.all(needed.map(async ([prog]) => findProgram(prog)));
  const missing = needed.filter((_, i) => !found[i]);
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map(([, pkg]) => pkg))].join(' ');
    const progs = missing.map(([prog]) => prog).join(', ');
    throw new EnvironmentError(`${progs} not found; install it with: apt-get install ${pkgs}`);
  }
}
