import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InterruptedError, RemoteCommandError, TimeoutError } from '../../util/errors.js';
import { log } from '../../util/log.js';
import { settleLimit } from '../../util/pool.js';
import { formatBytes } from '../../util/progress.js';
import { shellQuote } from '../../util/shell.js';
import type { LocalTree } from '../local-tree.js';
import type { SshPool } from '../pool.js';
import type { HostDiff } from '../tree-copy.js';
import type { HostSpec } from '../types.js';
import { receiverScript, relayProbe } from './receiver-script.js';
import { NEXT_UNREACHABLE, PORT_LINE, RELAY_STREAM_FAILED } from './relay-program.js';
import { planStream, type StreamPlan } from './stream-plan.js';
import { type StreamDigest, treeStream, treeStreamDigest } from './tree-stream.js';

// Sends one tree to many hosts while this machine sends it once: the hosts form a chain, the first gets
// the stream over SSH and each passes it to the next over plain TCP inside the cluster network as it
// arrives, so with equal links N hosts take about as long as one. The stream carries only the files that
// differ on at least one host (an upgrade's rootfs shares most files with the one in place); each host
// takes the rest from its existing tree. Integrity does not rest on the network: every host checks the
// stream's sha256, and the sha256 of every file it took from its own tree, before the tree goes into
// place. A host that cannot take part (no python3) or whose stream broke gets a direct SSH copy instead,
// which also diffs against what the host already has.

/** Seconds for the chain's connections to be made, and without data before a stream counts as broken. */
const ACCEPT_SECONDS = 30;
const IDLE_SECONDS = 120;
/** Bound on every receiver starting and reporting its port. */
const START_MS = 20_000;

/** What a relay needs: the connections, how many hosts at once, and the Ctrl-C signal. */
export interface RelayContext {
  pool: SshPool;
  concurrency: number;
  signal?: AbortSignal;
}

export interface SendOutcome {
  /** Bytes this machine sent: the (partial) stream once, plus file contents of direct copies. */
  bytesSent: number;
  /** Hosts that did not get the tree, with a one-line error each. */
  failed: Map<string, Error>;
  relayed: number;
  direct: number;
}

export interface SendOptions {
  /** Top-level names of an existing destination kept when the stream lacks them (see receiverScript). */
  keep?: string[];
  /** What is sent, for log lines: `rootfs`, `registry`. */
  what: string;
}

interface Receiver {
  host: HostSpec;
  stdin: PassThrough;
  stop: AbortController;
  port: Promise<number>;
  done: Promise<unknown>;
}

function runTimeoutMs(size: number): number {
  // A backstop behind the relay's own idle bound: 5 minutes plus 4 ms per KiB (at least 2 Mbit/s).
  return 300_000 + Math.ceil(size / 256);
}

async function probe(ctx: RelayContext, hosts: HostSpec[]): Promise<Set<string>> {
  const able = new Set<string>();
  await settleLimit(hosts, ctx.concurrency, async (h) => {
    const s = await ctx.pool.session(h);
    const r = await s.exec(relayProbe, { allowFailure: true, timeoutMs: 20_000, signal: ctx.signal });
    if (r.stdout.includes('berth-relay-ok')) able.add(h.host);
  });
  return able;
}

/** What each host lacks of the tree; a host that cannot be listed is left out, to be copied directly. */
async function hostDiffs(
  ctx: RelayContext,
  hosts: HostSpec[],
  tree: LocalTree,
  dest: string,
  what: string,
): Promise<Map<string, HostDiff>> {
  const diffs = new Map<string, HostDiff>();
  await settleLimit(hosts, ctx.concurrency, async (h) => {
    try {
      const session = await ctx.pool.session(h);
      diffs.set(h.host, await session.treeDiff(tree, dest, { sudo: true, signal: ctx.signal }));
    } catch (err) {
      log.warn(
        `${h.host}: listing ${dest} failed (${(err as Error).message}); the ${what} goes over SSH directly`,
      );
    }
  });
  return diffs;
}

function startReceiver(ctx: RelayContext, host: HostSpec, script: string, timeoutMs: number): Receiver {
  const stdin = new PassThrough();
  const stop = new AbortController();
  const signals = [stop.signal, ...(ctx.signal ? [ctx.signal] : [])];
  let gotPort: (port: number) => void = () => undefined;
  const port = new Promise<number>((resolve) => {
    gotPort = resolve;
  });
  const done = (async () => {
    const session = await ctx.pool.session(host);
    return session.exec(`sh -c ${shellQuote(script)}`, {
      sudo: true,
      stdin,
      timeoutMs,
      signal: AbortSignal.any(signals),
      onLine: (line) => {
        const text = line.trim();
        const m = PORT_LINE.exec(text);
        if (m) gotPort(Number(m[1]));
        else if (text.startsWith(NEXT_UNREACHABLE))
          log.warn(`${host.host}: ${text.slice('berth-relay: '.length)}`);
        else if (text) log.debug(`${host.host}: ${text}`);
      },
    });
  })();
  done.catch(() => undefined);
  return { host, stdin, stop, port, done };
}

async function portWithin(r: Receiver, ms: number): Promise<number | Error> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Error>((resolve) => {
    timer = setTimeout(
      () =>
        resolve(new TimeoutError(`${r.host.host}: the relay receiver did not start within ${ms / 1000} s`)),
      ms,
    );
  });
  try {
    return await Promise.race([
      r.port,
      r.done.then(
        () => new Error(`${r.host.host}: the relay receiver exited early`),
        (e: Error) => e,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a failed relay is worth a direct copy: the stream did not arrive, rather than failing to unpack. */
function streamProblem(err: Error): boolean {
  if (err instanceof InterruptedError) return false;
  if (err instanceof RemoteCommandError) return err.exitStatus === RELAY_STREAM_FAILED;
  return true;
}

/**
 * Runs the chain over `hosts` (all able to relay). Returns the hosts that got the tree, those to copy
 * directly instead, and those that failed for good.
 */
async function runChain(
  ctx: RelayContext,
  hosts: HostSpec[],
  tree: LocalTree,
  plan: StreamPlan,
  dest: string,
  digest: StreamDigest,
  keep: string[] | undefined,
): Promise<{ ok: HostSpec[]; retry: Map<string, Error>; failed: Map<string, Error> }> {
  const timeoutMs = runTimeoutMs(digest.size);
  const receivers = hosts.map((h) =>
    startReceiver(
      ctx,
      h,
      receiverScript({
        dest,
        ipv6: h.host.includes(':'),
        sha256: digest.sha256,
        size: digest.size,
        acceptSeconds: ACCEPT_SECONDS,
        idleSeconds: IDLE_SECONDS,
        keep,
      }),
      timeoutMs,
    ),
  );
  const retry = new Map<string, Error>();
  const failed = new Map<string, Error>();
  const chain: Array<{ r: Receiver; port: number }> = [];
  const started = await Promise.all(receivers.map((r) => portWithin(r, START_MS)));
  started.forEach((p, i) => {
    const r = receivers[i] as Receiver;
    if (typeof p === 'number') chain.push({ r, port: p });
    else {
      r.stop.abort();
      (streamProblem(p) ? retry : failed).set(r.host.host, p);
    }
  });
  const head = chain[0];
  if (head) {
    chain.forEach(({ r }, i) => {
      const from = i === 0 ? '-' : (chain[i - 1] as { r: Receiver }).r.host.host;
      const next = chain[i + 1];
      const line = `${from} ${next ? `${next.r.host.host} ${next.port}` : '-'}\n`;
      if (i === 0) r.stdin.write(line);
      else r.stdin.end(line);
    });
    const sending = pipeline(treeStream(tree, plan), head.r.stdin);
    // A head that fails stops reading; the stream must not wait on it forever.
    head.r.done.catch(() => head.r.stdin.destroy());
    sending.catch(() => undefined);
  }
  const outcomes = await Promise.allSettled(chain.map(({ r }) => r.done));
  const ok: HostSpec[] = [];
  outcomes.forEach((o, i) => {
    const h = (chain[i] as { r: Receiver }).r.host;
    if (o.status === 'fulfilled') ok.push(h);
    else {
      const err = o.reason as Error;
      (streamProblem(err) ? retry : failed).set(h.host, err);
    }
  });
  return { ok, retry, failed };
}

async function copyDirect(
  ctx: RelayContext,
  hosts: HostSpec[],
  tree: LocalTree,
  dest: string,
  out: SendOutcome,
): Promise<void> {
  await settleLimit(hosts, ctx.concurrency, async (h) => {
    try {
      const session = await ctx.pool.session(h);
      const r = await session.putTree(tree, dest, { sudo: true, signal: ctx.signal });
      out.bytesSent += r.bytesSent;
      out.direct++;
      log.info(
        `${h.host}: ${dest} in place over SSH (${formatBytes(r.bytesSent)} sent, ${r.filesSkipped} file(s) already there)`,
      );
    } catch (err) {
      out.failed.set(h.host, err as Error);
    }
  });
}

/**
 * Puts `tree` at `dest` on every host in `hosts`, sending it from this machine once where the hosts can
 * relay it. Never throws for a host: failures come back in `failed`, so the caller can record the rest.
 */
export async function sendTree(
  ctx: RelayContext,
  tree: LocalTree,
  hosts: HostSpec[],
  dest: string,
  opts: SendOptions,
): Promise<SendOutcome> {
  const out: SendOutcome = { bytesSent: 0, failed: new Map(), relayed: 0, direct: 0 };
  if (hosts.length < 2) {
    await copyDirect(ctx, hosts, tree, dest, out);
    return out;
  }
  const able = await probe(ctx, hosts);
  for (const h of hosts.filter((x) => !able.has(x.host)))
    log.info(`${h.host}: no python3 for the relay; the ${opts.what} goes over SSH directly`);
  if (able.size < 2) {
    await copyDirect(ctx, hosts, tree, dest, out);
    return out;
  }
  const diffs = await hostDiffs(
    ctx,
    hosts.filter((h) => able.has(h.host)),
    tree,
    dest,
    opts.what,
  );
  const relaying = hosts.filter((h) => diffs.has(h.host));
  const direct = hosts.filter((h) => !diffs.has(h.host));
  if (relaying.length < 2) {
    await copyDirect(ctx, hosts, tree, dest, out);
    return out;
  }
  const plan = await planStream(tree, [...diffs.values()]);
  const digest = await treeStreamDigest(tree, plan);
  const reused = plan.reused.length > 0 ? `, ${plan.reused.length} unchanged file(s) left out` : '';
  log.info(
    `sending the ${opts.what} (${formatBytes(digest.size)}${reused}, sha256 ${digest.sha256.slice(0, 12)}) once, relayed by ${relaying.length} hosts`,
  );
  const [chain] = await Promise.all([
    runChain(ctx, relaying, tree, plan, dest, digest, opts.keep),
    copyDirect(ctx, direct, tree, dest, out),
  ]);
  out.bytesSent += digest.size;
  out.relayed = chain.ok.length;
  for (const [ip, err] of chain.failed) out.failed.set(ip, err);
  if (chain.retry.size > 0 && !ctx.signal?.aborted) {
    for (const [ip, err] of chain.retry)
      log.warn(`${ip}: relay failed (${err.message}); copying the ${opts.what} over SSH directly`);
    await copyDirect(
      ctx,
      relaying.filter((h) => chain.retry.has(h.host)),
      tree,
      dest,
      out,
    );
  } else for (const [ip, err] of chain.retry) out.failed.set(ip, err);
  return out;
}
