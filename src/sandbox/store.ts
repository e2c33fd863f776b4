import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { InputError, NotFoundError, UsageError } from '../util/errors.js';
import { registerSecret } from '../util/log.js';
import { berthPath } from '../util/paths.js';
import { decryptSecret } from '../util/secrets.js';
import type { Sandbox, SandboxRecord } from './types.js';

// A sandbox name becomes part of hostnames (`<name>-<i>`) and namespace names, so it is a DNS label.
const namePattern = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

export function checkSandboxName(name: string): void {
  if (!namePattern.test(name)) {
    throw new UsageError(
      `sandbox name "${name}": use 1-32 lower-case letters, digits and inner dashes (e.g. demo)`,
    );
  }
}

export function sandboxDir(name: string): string {
  return berthPath('sandboxes', name);
}

export function recordPath(name: string): string {
  return join(sandboxDir(name), 'sandbox.json');
}

export function keyPathOf(name: string): string {
  return join(sandboxDir(name), 'id_ed25519');
}

export function hostDir(name: string, index: number): string {
  return join(sandboxDir(name), 'hosts', String(index + 1));
}

export async function writeRecord(rec: SandboxRecord): Promise<void> {
  await writeFileAtomic(recordPath(rec.name), `${JSON.stringify(rec, null, 2)}\n`, 0o600);
}

/** The stored record, passwords still encrypted; undefined when the file is absent. */
export async function readRecord(name: string): Promise<SandboxRecord | undefined> {
  const path = recordPath(name);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const rec = JSON.parse(text) as SandboxRecord;
    if (rec.version !== 1 || !Array.isArray(rec.hosts)) throw new Error('unknown layout');
    return rec;
  } catch (err) {
    throw new InputError(`${path}: not a berth sandbox record (${(err as Error).message})`);
  }
}

export function toSandbox(rec: SandboxRecord): Sandbox {
  const hosts = rec.hosts.map((h) => {
    const rootPassword = decryptSecret(h.rootPassword);
    const userPassword = decryptSecret(h.userPassword);
    registerSecret(rootPassword);
    registerSecret(userPassword);
    return {
      name: h.name,
      ip: h.ip,
      port: h.port,
      rootPassword,
      user: h.user,
      userPassword,
      netns: h.netns,
      hostKey: h.hostKey,
    };
  });
  const sb: Sandbox = {
    name: rec.name,
    subnet: rec.subnet,
    gateway: rec.gateway,
    bridge: rec.bridge,
    keyPath: keyPathOf(rec.name),
    hosts,
    init: rec.init ?? 'sshd',
  };
  if (rec.bandwidth) sb.bandwidth = rec.bandwidth;
  return sb;
}

export async function loadSandbox(name: string): Promise<Sandbox> {
  const rec = await readRecord(name);
  if (!rec) throw new NotFoundError(`sandbox ${name} does not exist (see berth sandbox ls)`);
  return toSandbox(rec);
}

export async function listSandboxes(): Promise<Sandbox[]> {
  let names: string[];
  try {
    names = (await readdir(berthPath('sandboxes'))).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: Sandbox[] = [];
  for (const name of names) {
    const rec = await readRecord(name);
    if (rec) out.push(toSandbox(rec));
  }
  return out;
}
