import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic.js';

// berth keeps its own known_hosts file in OpenSSH format (plain host names, no hashing), so that
// `ssh-keygen -F`/`-R` and a text editor work on it, and berth never edits the user's ~/.ssh.

export interface KnownHostKey {
  /** `host` on port 22, else `[host]:port`, as OpenSSH writes it. */
  pattern: string;
  type: string;
  key: Buffer;
}

export function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Parses known_hosts text; comments, blank lines, hashed and marker (@revoked, @cert-authority) lines are kept aside. */
export function parseKnownHosts(text: string): { entries: KnownHostKey[]; otherLines: string[] } {
  const entries: KnownHostKey[] = [];
  const otherLines: string[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    const fields = trimmed.split(/\s+/);
    if (trimmed.startsWith('#') || trimmed.startsWith('@') || trimmed.startsWith('|') || fields.length < 3) {
      otherLines.push(line);
      continue;
    }
    const [patterns, type, b64] = fields as [string, string, string];
    const key = Buffer.from(b64, 'base64');
    // Not base64 of a key (Buffer.from skips what is not base64): kept as it is, matched by nothing.
    if (key.length === 0 || key.toString('base64').replace(/=+$/, '') !== b64.replace(/=+$/, '')) {
      otherLines.push(line);
      continue;
    }
    for (const pattern of patterns.split(',')) entries.push({ pattern, type, key });
  }
  return { entries, otherLines };
}

export function formatKnownHosts(entries: KnownHostKey[], otherLines: string[] = []): string {
  const lines = [...otherLines, ...entries.map((e) => `${e.pattern} ${e.type} ${e.key.toString('base64')}`)];
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** The key type written inside an SSH public key blob (its first length-prefixed string). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** `SHA256:...` as `ssh-keygen -l` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export type HostKeyCheck =
  | { status: 'known' }
  | { status: 'new' }
  | { status: 'changed'; recorded: KnownHostKey[] };

export function checkHostKey(entries: KnownHostKey[], pattern: string, blob: Buffer): HostKeyCheck {
  const recorded = entries.filter((e) => e.pattern === pattern);
  if (recorded.length === 0) return { status: 'new' };
  if (recorded.some((e) => e.key.equals(blob))) return { status: 'known' };
  return { status: 'changed', recorded };
}

/** The recorded key types of a host, so the handshake can ask for a key we can check rather than a new type. */
export function recordedTypes(entries: KnownHostKey[], pattern: string): string[] {
  return [...new Set(entries.filter((e) => e.pattern === pattern).map((e) => e.type))];
}

/** Replaces every record of `pattern` with `blob`. */
export function replaceHostKey(entries: KnownHostKey[], pattern: string, blob: Buffer): KnownHostKey[] {
  return [...entries.filter((e) => e.pattern !== pattern), { pattern, type: keyTypeOf(blob), key: blob }];
}

/**
 * The known_hosts file on disk. Updates re-read the file right before writing, inside one promise chain,
 * so that many connections recording keys at once do not lose each other's records.
 */
export class KnownHostsFile {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {}

  async read(): Promise<{ entries: KnownHostKey[]; otherLines: string[] }> {
    try {
      return parseKnownHosts(await readFile(this.path, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], otherLines: [] };
      throw err;
    }
  }

  record(pattern: string, blob: Buffer): Promise<void> {
    const next = this.chain.then(async () => {
      const { entries, otherLines } = await this.read();
      await writeFileAtomic(
        this.path,
        formatKnownHosts(replaceHostKey(entries, pattern, blob), otherLines),
        0o600,
      );
    });
    this.chain = next.catch(() => undefined);
    return next;
  }
}
