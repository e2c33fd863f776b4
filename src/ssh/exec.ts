import type { Readable, Writable } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { InterruptedError, RemoteCommandError, TimeoutError } from '../util/errors.js';
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
}

// Collected output is capped so that a chatty command cannot exhaust memory; lines still stream to onLine.
const MAX_COLLECTED = 16 * 1024 * 1024;
// After TERM, a command gets this long to exit before KILL and the channel is closed.
const KILL_GRACE_MS = 1500;

const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, PIPE: 13, ALRM: 14, TERM: 15 };

function openChannel(client: Client, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, channel) => (err ? reject(err) : resolve(channel)));
  });
}

class Collector {
  private chunks: Buffer[] = [];
  private size = 0;
  add(chunk: Buffer): void {
    if (this.size >= MAX_COLLECTED) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/**
 * Runs one command on its own exec channel (no pty), streaming output and feeding stdin. On timeout or
 * abort the remote command is stopped: sshd delivers the signal to the command's whole process group
 * (TERM, then KILL), and the channel is closed.
 */
export async function runOnChannel(client: Client, run: ChannelRun, opts: ExecOptions): Promise<ExecResult> {
  if (opts.signal?.aborted)
    throw new InterruptedError(`${run.label}: interrupted before \`${briefCommand(run.shown)}\``);
  const channel = await openChannel(client, run.command);
  const stdout = new Collector();
  const stderr = new Collector();
  let lastErrLine = '';
  const outLines = new LineSplitter((l) => opts.onLine?.(l, 'stdout'));
  const errLines = new LineSplitter((l) => {
    if (l.trim() !== '') lastErrLine = l.trim();
    opts.onLine?.(l, 'stderr');
  });

  return new Promise<ExecResult>((resolve, reject) => {
    let exitCode: number | undefined;
    let stopReason: Error | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) return reject(err);
      outLines.end();
      errLines.end();
      const result = { code: exitCode ?? 255, stdout: stdout.text(), stderr: stderr.text() };
      if (result.code !== 0 && !opts.allowFailure) {
        const why = lastErrLine || (exitCode === undefined ? 'connection lost' : 'no error output');
        return reject(
          new RemoteCommandError(
            run.label,
            run.shown,
            result.code,
            `\`${briefCommand(run.shown)}\` exited ${result.code}: ${why}`,
          ),
        );
      }
      resolve(result);
    };

    const stop = (reason: Error) => {
      if (stopReason) return;
      stopReason = reason;
      const send = (sig: string) => {
        try {
          channel.signal(sig);
        } catch {
          // The channel is already closed; nothing left to signal.
        }
      };
      send('TERM');
      killTimer = setTimeout(() => {
        send('KILL');
        channel.close();
        finish(reason);
      }, KILL_GRACE_MS);
      channel.end();
    };

    const onAbort = () =>
      stop(new InterruptedError(`${run.label}: interrupted \`${briefCommand(run.shown)}\``));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timeout = opts.timeoutMs
      ? setTimeout(
          () =>
            stop(
              new TimeoutError(
                `${run.label}: \`${briefCommand(run.shown)}\` still running after ${opts.timeoutMs! / 1000} s`,
              ),
            ),
          opts.timeoutMs,
        )
      : undefined;

    channel.on('exit', (code: number | null, signalName?: string) => {
      exitCode = typeof code === 'number' ? code : 128 + (SIGNALS[signalName ?? ''] ?? 0);
    });
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
      stderr.add(chunk);
      errLines.push(chunk);
    });
    channel.on('close', () => {
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
      input.on('error', (err) => {
        stop(err);
      });
      input.pipe(channel);
    }
  });
}
