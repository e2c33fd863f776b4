import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type { ExecOptions, ExecResult } from './exec.js';
import type { LocalEntry, LocalTree } from './local-tree.js';
import {
  diffTree,
  hashCommand,
  listCommand,
  parseHashes,
  parseListing,
  sizeMatches,
  type TreeDiff,
} from './manifest.js';
import { shellQuote } from './shell.js';

export interface TreeCopyResult {
  /** File content bytes sent (tar headers not counted): 0 when the host already had everything. */
  bytesSent: number;
  filesSent: number;
  filesSkipped: number;
}

/** What tree copying needs from a session: run a command, optionally as root. */
export type Runner = (command: string, opts: ExecOptions) => Promise<ExecResult>;

// A command line may hold at most 128 KiB per argument and about 2 MiB in all; batches stay well below.
const BATCH_CHARS = 64 * 1024;

function batched(prefix: string, words: string[]): string[] {
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    const q = shellQuote(w);
    if (line && line.length + q.length > BATCH_CHARS) {
      lines.push(line);
      line = '';
    }
    line = line ? `${line} ${q}` : `${prefix} -- ${q}`;
  }
  if (line) lines.push(line);
  return lines;
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    m.set(k, [...(m.get(k) ?? []), it]);
  }
  return m;
}

/**
 * The script run on the host after the archive is unpacked in the staging dir ($1): a fresh destination is
 * the staged tree renamed into place in one step; an existing one gets each new file renamed over the old,
 * so readers never see a partly written file.
 */
export function placementScript(dest: string, tree: LocalTree, diff: TreeDiff, fresh: boolean): string {
  const d = (rel: string) => (rel === '' ? dest : posix.join(dest, rel));
  if (fresh) return `set -e\nmv -T -- "$1/t" ${shellQuote(dest)}\n`;
  const dirs = tree.entries.filter((e) => e.type === 'dir');
  const lines = ['set -e', 'cd "$1/t"'];
  lines.push(
    ...batched(
      'mkdir -p',
      dirs.map((e) => d(e.rel)),
    ),
  );
  for (const [mode, group] of groupBy([{ rel: '', mode: tree.rootMode }, ...dirs], (e) => octal(e.mode)))
    lines.push(
      ...batched(
        `chmod ${mode}`,
        group.map((e) => d(e.rel)),
      ),
    );
  for (const [dir, group] of groupBy(diff.send, (e) => posix.dirname(e.rel)))
    lines.push(
      ...batched(
        `mv -f -t ${shellQuote(d(dir === '.' ? '' : dir))}`,
        group.map((e) => e.rel),
      ),
    );
  for (const [mode, group] of groupBy(diff.chmod, (e) => octal(e.mode)))
    lines.push(
      ...batched(
        `chmod ${mode}`,
        group.map((e) => d(e.rel)),
      ),
    );
  return `${lines.join('\n')}\n`;
}

/** Unpacks the archive on stdin into a staging dir beside (or, if it exists, inside) dest, then places it. */
export function receiveCommand(dest: string): string {
  const d = shellQuote(dest);
  return [
    'set -e',
    `if [ -d ${d} ]; then B=${d}; else B=$(dirname -- ${d}); mkdir -p -- "$B"; fi`,
    'S=$(mktemp -d "$B/.berth-stage.XXXXXX")',
    `trap 'rm -rf -- "$S"' EXIT`,
    // dash runs no EXIT trap when a signal ends it
    "trap 'exit 143' TERM HUP INT PIPE",
    'tar -x -p --no-same-owner -f - -C "$S"',
    'sh "$S/place.sh" "$S"',
  ].join('; ');
}

async function writeEntry(sink: ReturnType<tarStream.Pack['entry']>, path: string): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    if (!sink.write(chunk as Buffer)) await new Promise<void>((r) => sink.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => {
    sink.once('error', reject);
    sink.end(() => resolve());
  });
}

function entryHeader(e: LocalEntry): Partial<tarStream.Header> & { name: string } {
  return {
    name: `t/${e.rel}`,
    mode: e.mode,
    mtime: e.mtime,
    uid: 0,
    gid: 0,
    ...(e.type === 'file' ? { type: 'file', size: e.size } : {}),
    ...(e.type === 'dir' ? { type: 'directory' } : {}),
    ...(e.type === 'symlink' ? { type: 'symlink', linkname: e.linkTarget } : {}),
  };
}

/** One tar stream: the placement script, then the entries to send. */
function archive(tree: LocalTree, script: string, entries: LocalEntry[]): Readable {
  const pack = tarStream.pack();
  (async () => {
    pack.entry({ name: 'place.sh', mode: 0o644, mtime: new Date() }, script);
    pack.entry({ name: 't', type: 'directory', mode: tree.rootMode, mtime: new Date() });
    for (const e of entries) {
      if (e.type === 'file') await writeEntry(pack.entry(entryHeader(e)), tree.path(e.rel));
      else pack.entry(entryHeader(e));
    }
    pack.finalize();
  })().catch((err: Error) => pack.destroy(err));
  return Readable.from(pack as unknown as AsyncIterable<Buffer>);
}

export interface HostDiff {
  /** Whether `dest` exists on the host at all. */
  exists: boolean;
  diff: TreeDiff;
}

/**
 * What the host lacks of `tree` at `dest`: sizes and modes of what it has, then sha256 on both sides of
 * only the files whose size matches.
 */
export async function diffWithHost(
  run: Runner,
  tree: LocalTree,
  dest: string,
  opts: Pick<ExecOptions, 'sudo' | 'signal'> = {},
): Promise<HostDiff> {
  const base = { sudo: opts.sudo, signal: opts.signal };
  const remote = parseListing((await run(listCommand(dest), base)).stdout);
  const candidates = sizeMatches(tree.entries, remote);
  const localHashes = new Map<string, string>();
  let remoteHashes = new Map<string, string>();
  if (candidates.length > 0) {
    const [remoteOut] = await Promise.all([
      run(hashCommand(dest), { ...base, stdin: Buffer.from(candidates.map((e) => `${e.rel}\0`).join('')) }),
      Promise.all(candidates.map(async (e) => localHashes.set(e.rel, await tree.sha256(e.rel)))),
    ]);
    remoteHashes = parseHashes(remoteOut.stdout);
  }
  return { exists: remote.exists, diff: diffTree(tree.entries, remote, localHashes, remoteHashes) };
}

/**
 * Copies `tree` into `dest` on one host, sending only files whose size or sha256 differ from the host's
 * copy, as one tar stream over one exec channel.
 */
export async function copyTree(
  run: Runner,
  tree: LocalTree,
  dest: string,
  opts: Pick<ExecOptions, 'sudo' | 'signal' | 'timeoutMs'> = {},
): Promise<TreeCopyResult> {
  const { exists, diff } = await diffWithHost(run, tree, dest, opts);
  const fresh = !exists;
  const toSend = fresh ? tree.entries : diff.send;
  const script = placementScript(dest, tree, diff, fresh);
  await run(receiveCommand(dest), { ...opts, stdin: archive(tree, script, toSend) });
  const sent = toSend.filter((e) => e.type === 'file');
  return {
    bytesSent: sent.reduce((n, e) => n + e.size, 0),
    filesSent: sent.length,
    filesSkipped: diff.skipped + diff.chmod.length,
  };
}
