import type { Writable } from 'node:stream';
import type { Client } from 'ssh2';
import { UsageError } from '../util/errors.js';
import { type ExecOptions, type ExecResult, killTreeCommand, runOnChannel } from './exec.js';
import { fetchFile, type PutFileOptions, putFile } from './files.js';
import { LocalTree } from './local-tree.js';
import { asRoot, detectSudoMode, type SudoMode } from './sudo.js';
import { copyTree, diffWithHost, type HostDiff, type TreeCopyResult } from './tree-copy.js';
import { type HostSpec, hostLabel, hostUser } from './types.js';

// sshd allows 10 sessions per connection by default (MaxSessions); stay under it.
const MAX_CHANNELS = 8;

function requireAbsolute(label: string, path: string): void {
  if (!path.startsWith('/')) throw new UsageError(`${label}: remote path ${path} must be absolute`);
}

/**
 * One authenticated connection to a host; every call opens its own channel on it, at most 8 at a time.
 * Obtain sessions from SshPool, which owns and closes them.
 */
export class SshSession {
  readonly label: string;
  private sudoMode?: Promise<SudoMode>;
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private lost = false;

  constructor(
    private readonly client: Client,
    readonly spec: HostSpec,
  ) {
    this.label = hostLabel(spec);
    const markLost = () => {
      this.lost = true;
    };
    client.on('close', markLost);
    client.on('error', markLost);
  }

  /** False once the connection dropped; the pool then opens a new one. */
  get alive(): boolean {
    return !this.lost;
  }

  /**
   * Runs `command` with the login shell, or as root with `sudo` (sudo -S with the sudo password when the
   * host asks for one, sudo -n otherwise). Throws RemoteCommandError on a non-zero exit unless allowFailure.
   */
  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.run(command, opts);
  }

  /** Writes a local file or a buffer to `remotePath` atomically (temp file + rename). */
  putFile(
    source: string | Buffer,
    remotePath: string,
    opts: PutFileOptions = {},
  ): Promise<{ bytesSent: number }> {
    requireAbsolute(this.label, remotePath);
    return putFile((c, o) => this.run(c, o), source, remotePath, opts);
  }

  /** Copies a local directory tree (or an already scanned LocalTree) into `remoteDir`, sending only what differs. */
  async putTree(
    local: string | LocalTree,
    remoteDir: string,
    opts: Pick<ExecOptions, 'sudo' | 'signal' | 'timeoutMs'> = {},
  ): Promise<TreeCopyResult> {
    requireAbsolute(this.label, remoteDir);
    const tree = typeof local === 'string' ? await LocalTree.scan(local) : local;
    return copyTree((c, o) => this.run(c, o), tree, remoteDir.replace(/\/+$/, '') || '/', opts);
  }

  /** What the host lacks of `tree` at `remoteDir`, without sending anything. */
  treeDiff(
    tree: LocalTree,
    remoteDir: string,
    opts: Pick<ExecOptions, 'sudo' | 'signal'> = {},
  ): Promise<HostDiff> {
    requireAbsolute(this.label, remoteDir);
    return diffWithHost((c, o) => this.run(c, o), tree, remoteDir.replace(/\/+$/, '') || '/', opts);
  }

  /** Copies one remote file to `localPath` (written atomically). */
  fetchFile(
    remotePath: string,
    localPath: string,
    opts: Pick<ExecOptions, 'sudo' | 'signal' | 'timeoutMs'> = {},
  ): Promise<void> {
    return fetchFile((c, o) => this.run(c, o, o.stdoutSink), remotePath, localPath, opts);
  }

  close(): void {
    this.client.end();
  }

  private async run(command: string, opts: ExecOptions, stdoutSink?: Writable): Promise<ExecResult> {
    let line: { command: string; stdinPrefix?: string } = { command };
    if (opts.sudo) {
      const password = this.spec.sudoPassword ?? this.spec.password;
      this.sudoMode ??= detectSudoMode(this.client, this.label, hostUser(this.spec), password);
      this.sudoMode.catch(() => undefined);
      line = asRoot(command, await this.sudoMode, password);
    }
    await this.acquire();
    try {
      const killTree = (pid: number) => this.killTree(pid, opts.sudo === true);
      return await runOnChannel(
        this.client,
        { label: this.label, shown: command, stdoutSink, killTree, ...line },
        opts,
      );
    } finally {
      this.release();
    }
  }

  /** Kills a stopped command's processes, on a channel outside the limit so it never waits. */
  private async killTree(pid: number, sudo: boolean): Promise<void> {
    const password = this.spec.sudoPassword ?? this.spec.password;
    const kill = killTreeCommand(pid);
    const line = sudo && this.sudoMode ? asRoot(kill, await this.sudoMode, password) : { command: kill };
    await runOnChannel(
      this.client,
      { label: this.label, shown: 'kill', ...line },
      { allowFailure: true, timeoutMs: 10_000 },
    );
  }

  private acquire(): Promise<void> {
    if (this.active < MAX_CHANNELS) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}
