import { berthPath } from '../util/paths.js';
import { connect } from './connect.js';
import { KnownHostsFile } from './known-hosts.js';
import { SshSession } from './session.js';
import { type HostSpec, poolKey } from './types.js';

export interface SshPoolOptions {
  /** berth's known_hosts by default: berthPath('known_hosts'). */
  knownHostsPath?: string;
  /** Accept and record a host key that differs from the recorded one. */
  acceptNewHostKey?: boolean;
  /** Bound on connecting and logging in; 10 s by default. */
  connectTimeoutMs?: number;
}

/**
 * Keeps one connection per user@host:port and hands it out for any number of commands; closeAll() ends
 * them all. Concurrent session() calls for the same login share one connection attempt.
 */
export class SshPool {
  private readonly sessions = new Map<string, Promise<SshSession>>();
  private readonly knownHosts: KnownHostsFile;
  private readonly acceptNewHostKey: boolean;
  private readonly timeoutMs: number;

  constructor(opts: SshPoolOptions = {}) {
    this.knownHosts = new KnownHostsFile(opts.knownHostsPath ?? berthPath('known_hosts'));
    this.acceptNewHostKey = opts.acceptNewHostKey ?? false;
    this.timeoutMs = opts.connectTimeoutMs ?? 10_000;
  }

  async session(spec: HostSpec): Promise<SshSession> {
    const key = poolKey(spec);
    const existing = this.sessions.get(key);
    if (existing) {
      // A failed attempt is shared by everyone who waited on it, and dropped so a later call retries.
      const s = await existing;
      if (s.alive) return s;
      if (this.sessions.get(key) === existing) this.sessions.delete(key);
      return this.session(spec);
    }
    const next = connect(spec, {
      knownHosts: this.knownHosts,
      acceptNewHostKey: this.acceptNewHostKey,
      timeoutMs: this.timeoutMs,
    }).then((client) => new SshSession(client, spec));
    this.sessions.set(key, next);
    next.catch(() => {
      if (this.sessions.get(key) === next) this.sessions.delete(key);
    });
    return next;
  }

  async closeAll(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of await Promise.allSettled(all)) if (s.status === 'fulfilled') s.value.close();
  }
}
