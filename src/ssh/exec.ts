import type { Readable, Writable } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { ConnectionLostError, InterruptedError, RemoteCommandError, TimeoutError } from '../util/errors.js';
import { LineSplitter } from './lines.js';
import { briefCommand } from './shell.js';

export interface ExecOptions {
  /** Run as root through sudo when the login user is not root. */
  sudo?: boolean;
  stdin?: string | Buffer | Readable;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called for every output line as it arrives. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Return a non-zero exit as a result instead of throwing RemoteCommandError. */
  allowFailure?: boolean;
  /** Keep the output in the result (the default); false when onLine takes every line and nothing else reads it. */
  collect?: boolean;
}

export interface ExecResult {
  /** Exit status; 128 + signal number when the command was killed by a signal. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface ChannelRun {
  label: string;
  /** The command exactly as the remote shell runs it. */
  command: string;
  /** What the caller asked to run, for messages (never includes a sudo password). */
  shown: string;
  /** Bytes written before the caller's stdin (the sudo password line). */
  stdinPrefix?: string;
  /** Raw stdout goes here instead of being collected as text. */
  stdoutSink?: Writable;
  /**
   * Stops the process tree below `pid` on the host (from another channel). Without it, a stopped command
   * is only cut off, not killed.
   */
  killTree?: (pid: number) => Promise<unknown>;
}

// Collected output is capped so that a chatty command cannot exhaust memory; lines still stream to onLine.
const MAX_COLLECTED = 16 * 1024 * 1024;
// How long a stopped command gets to exit before its channel is closed regardless.
const STOP_GRACE_MS = 3000;
const PID_MARKER = /(?:^|\n)berth-pid:(\d+)\n/;

// as ssh2 names them in an exit-signal
const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

/**
 * The remote command, preceded by a line on stderr giving the login shell's pid, the root of everything
 * the command starts. Killing that tree is how a command is stopped: sshd refuses signal requests for root
 * logins, and closing the channel does not end a command that neither reads nor writes (a `sleep`).
 */
export function withPidMarker(command: string): string {
  return `echo "berth-pid:$$" >&2; ${command}`;
}

/**
 * Shell text that stops the command started by login shell `pid`: TERM to every process below it (sudo
 * with use_pty moves the command into a session of its own, out of reach of a group kill) and to its
 * group, then KILL for whatever is left after about 2 s.
 */
export function killTreeCommand(pid: number): string {
  const tree = `ps -e -o pid= -o ppid= | awk -v r=${pid} '{ c[$2] = c[$2] " " $1 } END { q = r; out = r; while (q != "") { n = split(q, a, " "); q = ""; for (i = 1; i <= n; i++) if (a[i] in c) { q = q c[a[i]]; out = out c[a[i]] } } print out }'`;
  return [
    `L=$(${tree})`,
    `kill -TERM $L -- -${pid} 2>/dev/null`,
    'for i in 1 2 3 4 5 6 7 8 9 10; do A=; for p in $L; do kill -0 $p 2>/dev/null && A=1; done; [ -z "$A" ] && exit 0; sleep 0.2; done',
    'kill -KILL $L 2>/dev/null; true',
  ].join('; ');
}

interface OpenedChannel {
  channel: ClientChannel;
  /** Filled in when the exit status (or signal) arrives; 128 + signal number for a signal. */
  exit: { code?: number };
}

/**
 * Opens an exec channel. The exit listener is attached inside ssh2's callback: a quick command's exit
 * status can arrive in the same read as the exec reply, and is emitted before an awaiting caller resumes.
 */
function openChannel(client: Client, command: string): Promise<OpenedChannel> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, channel) => {
      if (err) return reject(err);
      const exit: { code?: number } = {};
      channel.on('exit', (code: number | null, signalName?: string) => {
        exit.code = typeof code === 'number' ? code : 128 + (SIGNALS[signalName ?? ''] ?? 0);
      });
      resolve({ channel, exit });
    });
  });
}

class Collector {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}
  add(chunk: Buffer): void {
    if (this.size >= this.limit) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/**
 * Runs one command on its own exec channel (no pty), streaming output and feeding stdin. On timeout or
 * abort the command's process group is killed on the host and the channel closed.
 */
export async function runOnChannel(client: Client, run: ChannelRun, opts: ExecOptions): Promise<ExecResult> {
  const shown = briefCommand(run.shown);
  if (opts.signal?.aborted) throw new InterruptedError(`${run.label}: interrupted before \`${shown}\``);
  const { channel, exit } = await openChannel(client, withPidMarker(run.command)).catch((err: Error) => {
    // ssh2's words for a connection that dropped before the channel opened (keepalive gone unanswered)
    if (/^(Not connected|No response from server)$/.test(err.message))
      throw new ConnectionLostError(run.label, shown);
    throw err;
  });
  const limit = opts.collect === false ? 0 : MAX_COLLECTED;
  const stdout = new Collector(limit);
  const stderr = new Collector(limit);
  let lastErrLine = '';
  const outLines = new LineSplitter((l) => opts.onLine?.(l, 'stdout'));
  const errLines = new LineSplitter((l) => {
    if (l.trim() !== '') lastErrLine = l.trim();
    opts.onLine?.(l, 'stderr');
  });
  let rootPid: number | undefined;
  let errHead: Buffer | undefined = Buffer.alloc(0);

  return new Promise<ExecResult>((resolve, reject) => {
    let stopReason: Error | undefined;
    let closeTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      clearTimeout(closeTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) return reject(err);
      outLines.end();
      errLines.end();
      // no exit status: the connection dropped (link down, host rebooted), the host is out of reach;
      // that is no exit of the command, so allowFailure does not make it a result
      if (exit.code === undefined) return reject(new ConnectionLostError(run.label, shown));
      const result = { code: exit.code, stdout: stdout.text(), stderr: stderr.text() };
      if (result.code !== 0 && !opts.allowFailure) {
        const why = lastErrLine || 'no error output';
        return reject(
          new RemoteCommandError(
            run.label,
            run.shown,
            result.code,
            `\`${shown}\` exited ${result.code}: ${why}`,
          ),
        );
      }
      resolve(result);
    };

    const stop = (reason: Error) => {
      if (stopReason || settled) return;
      stopReason = reason;
      channel.end();
      if (rootPid !== undefined && run.killTree) run.killTree(rootPid).catch(() => undefined);
      closeTimer = setTimeout(() => {
        channel.close();
        finish(reason);
      }, STOP_GRACE_MS);
    };

    const onAbort = () => stop(new InterruptedError(`${run.label}: interrupted \`${shown}\``));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timeout = opts.timeoutMs
      ? setTimeout(
          () =>
            stop(
              new TimeoutError(
                `${run.label}: \`${shown}\` still running after ${(opts.timeoutMs ?? 0) / 1000} s`,
              ),
            ),
          opts.timeoutMs,
        )
      : undefined;

    const onStderr = (chunk: Buffer) => {
      stderr.add(chunk);
      errLines.push(chunk);
    };

    channel.on('data', (chunk: Buffer) => {
      if (run.stdoutSink) {
        if (!run.stdoutSink.write(chunk)) {
          channel.pause();
          run.stdoutSink.once('drain', () => channel.resume());
        }
        return;
      }
      stdout.add(chunk);
      outLines.push(chunk);
    });
    channel.stderr.on('data', (chunk: Buffer) => {
      if (errHead === undefined) return onStderr(chunk);
      // The pid marker comes first (after any login banner); it is not the command's output.
      errHead = Buffer.concat([errHead, chunk]);
      const m = PID_MARKER.exec(errHead.toString('latin1'));
      if (!m && errHead.length < 4096) return;
      const rest = m
        ? Buffer.concat([
            errHead.subarray(0, m.index + (m[0].startsWith('\n') ? 1 : 0)),
            errHead.subarray(m.index + m[0].length),
          ])
        : errHead;
      if (m) rootPid = Number(m[1]);
      errHead = undefined;
      if (stopReason && rootPid !== undefined) run.killTree?.(rootPid).catch(() => undefined);
      if (rest.length > 0) onStderr(rest);
    });
    channel.on('close', () => {
      if (errHead !== undefined && errHead.length > 0) onStderr(errHead);
      errHead = undefined;
      if (stopReason) return finish(stopReason);
      if (run.stdoutSink) run.stdoutSink.end(() => finish());
      else finish();
    });
    channel.on('error', (err: Error) => finish(err));

    if (run.stdinPrefix) channel.write(run.stdinPrefix);
    const input = opts.stdin;
    if (input === undefined) channel.end();
    else if (typeof input === 'string' || Buffer.isBuffer(input)) channel.end(input);
    else {
      input.on('error', (err) => stop(err));
      input.pipe(channel);
    }
  });
}
