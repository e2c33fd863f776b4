import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import type { Writable } from 'node:stream';
import { removeOnExit } from '../util/interrupt.js';
import type { ExecOptions, ExecResult } from './exec.js';
import { shellQuote } from './shell.js';

export interface PutFileOptions extends Pick<ExecOptions, 'sudo' | 'signal' | 'timeoutMs'> {
  /** Permission bits of the file on the host; 0644 unless given. */
  mode?: number;
}

/**
 * Writes stdin to a temp file beside `dest`, checks that all `size` bytes came, sets its mode, then
 * renames it over `dest`. A stopped copy (its input cut short, or the shell killed) removes the temp file
 * and leaves `dest` as it was.
 */
export function putFileCommand(dest: string, mode: number, size: number): string {
  const d = shellQuote(dest);
  const dir = shellQuote(posix.dirname(dest));
  return [
    'set -e',
    `mkdir -p -- ${dir}`,
    `T=$(mktemp ${shellQuote(`${posix.dirname(dest)}/.${posix.basename(dest)}.berth.XXXXXX`)})`,
    `trap 'rm -f -- "$T"' EXIT`,
    // dash runs no EXIT trap when a signal ends it
    "trap 'exit 143' TERM HUP INT PIPE",
    'cat > "$T"',
    `if [ "$(wc -c < "$T")" -ne ${size} ]; then echo "received $(wc -c < "$T") of ${size} bytes" >&2; exit 1; fi`,
    `chmod ${mode.toString(8)} "$T"`,
    `mv -f -- "$T" ${d}`,
    'trap - EXIT',
  ].join('; ');
}

export async function putFile(
  run: (command: string, opts: ExecOptions) => Promise<ExecResult>,
  source: string | Buffer,
  dest: string,
  opts: PutFileOptions = {},
): Promise<{ bytesSent: number }> {
  const size = typeof source === 'string' ? (await stat(source)).size : source.length;
  const stdin = typeof source === 'string' ? createReadStream(source) : source;
  let bytes = Buffer.isBuffer(source) ? source.length : 0;
  if (typeof source === 'string') (stdin as NodeJS.ReadableStream).on('data', (c) => (bytes += c.length));
  await run(putFileCommand(dest, opts.mode ?? 0o644, size), { ...opts, stdin });
  return { bytesSent: bytes };
}

/**
 * Streams a remote file into `localPath` through a temp file renamed into place, so an interrupted fetch
 * leaves the old local file untouched.
 */
export async function fetchFile(
  run: (command: string, opts: ExecOptions & { stdoutSink: Writable }) => Promise<ExecResult>,
  remotePath: string,
  localPath: string,
  opts: Pick<ExecOptions, 'sudo' | 'signal' | 'timeoutMs'> = {},
): Promise<void> {
  await mkdir(dirname(localPath), { recursive: true });
  const tmp = join(dirname(localPath), `.${basename(localPath)}.${randomBytes(6).toString('hex')}.tmp`);
  const forget = removeOnExit(tmp);
  try {
    await run(`cat -- ${shellQuote(remotePath)}`, {
      ...opts,
      stdoutSink: createWriteStream(tmp, { mode: 0o644 }),
    });
    await rename(tmp, localPath);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  } finally {
    forget();
  }
}
