// The fault campaign, shared by its short form in CI (test/chaos/faults-*.test.ts) and its long form
// (bench/chaos.ts): on a sandbox of three hosts it runs, adds and deletes a node and upgrades the cluster
// with the real CLI, and injects the faults operators meet: berth killed (SIGKILL) at random moments of
// run, add, delete and upgrade; a host's link cut in the middle of a phase; a host rebooted while it
// joins. After each fault the next run of the same command must converge: exit 0, every node Ready
// through real kubectl (after an upgrade, every kubelet on the new version), and every state file under
// BERTH_HOME whole. The cluster image is a parameter, so the campaign covers each runtime whose example
// image it is given.
//
// Upgrade kills need the cluster on the version before the target each time, and Kubernetes goes up one
// minor at a time and never down. So the upgrade images form a chain, each one minor above the one
// before: each upgrade kill takes the cluster one link up (the killed upgrade, then the same upgrade
// again); when the chain is used up, reset and a run of the first image start it over. A chain of n links
// costs one run per n upgrade kills, cheaper than a reset and a run before each. An upgrade's kill moment
// is a step of its plan (from --dry-run) drawn at random, plus up to a second after that step starts: an
// upgrade's length depends on how far a killed one got, so no timed whole upgrade gives it a scale.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Journal } from '../../src/apply/journal.js';
import { restartHost, type Sandbox, setHostLink } from '../../src/sandbox/index.js';
import { kubectlNodes } from '../helpers/cluster-e2e.js';
import { type BerthRun, startBerth } from '../helpers/run-berth.js';
import { stateProblems } from './state-files.js';

export interface CampaignOptions {
  /** The cluster image, already in BERTH_HOME's store. */
  image: string;
  /** Three hosts at least: a master, a node that stays, and one that is added and deleted. */
  sandbox: Sandbox;
  cluster: string;
  home: string;
  /** SIGKILLs of berth, spread over run, add, delete and (given `upgrades`) upgrade. */
  kills: number;
  /**
   * The upgrade chain, already in the store: each image one minor above the one before, the first one
   * minor above `image`, with the kubelet version its nodes then report. None: no upgrade kills.
   */
  upgrades?: UpgradeTarget[];
  seed: number;
  linkCut: boolean;
  reboot: boolean;
  say: (line: string) => void;
  /** The id of the driver's step that joins a node (k3s: join), where the link cut and the reboot strike. */
  joinStep?: string;
  /** Bound of any one berth command. */
  commandTimeoutMs?: number;
}

export interface UpgradeTarget {
  image: string;
  /** What kubectl shows as every node's kubelet version once the upgrade is done, e.g. v1.30.3. */
  kubelet: string;
}

export interface CampaignResult {
  injected: number;
  converged: number;
  corrupt: number;
  /** One line per fault that did not converge or left corrupt state. */
  failures: string[];
}

/** mulberry32: a small seeded generator, so that a campaign's kill moments can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Started {
  ended: () => boolean;
  stderr: () => string;
  kill: () => void;
  done: Promise<BerthRun & { signal: NodeJS.Signals | null; ms: number }>;
}

function start(args: string[], timeoutMs: number): Started {
  const t0 = Date.now();
  const run = startBerth(args);
  let signal: NodeJS.Signals | null = null;
  let ended = false;
  run.child.on('exit', (_code, s) => {
    signal = s;
    ended = true;
  });
  const guard = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
  const done = run.done.then((r) => {
    clearTimeout(guard);
    return { ...r, signal, ms: Date.now() - t0 };
  });
  return {
    ended: () => ended,
    stderr: () => run.output().stderr,
    kill: () => {
      if (!ended && run.child.pid !== undefined) process.kill(run.child.pid, 'SIGKILL');
    },
    done,
  };
}

/** The last line berth printed that is not a step or phase line (nor the hint after an internal error): its one-line failure. */
function failureLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .filter(
      (l) =>
        l.trim() && !l.startsWith('==> ') && !l.startsWith('  ') && !l.includes('run again with --debug'),
    );
  return lines.at(-1) ?? '';
}

/** Waits (polling, bounded by time and count) until berth prints that `hostStep` (`IP STEP`) starts; false if it ended first. */
async function stepStarted(run: Started, hostStep: string, timeoutMs: number): Promise<boolean> {
  const printed = () => `\n${run.stderr()}`.includes(`\n  ${hostStep}: `);
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < timeoutMs / 10 && Date.now() < deadline && !run.ended(); i++) {
    if (printed()) return true;
    await sleep(10);
  }
  return !run.ended() && printed();
}

const lastPhase = (stderr: string) =>
  [...stderr.matchAll(/==> (.*)/g)].pop()?.[1] ?? 'before the first phase';

export async function runCampaign(o: CampaignOptions): Promise<CampaignResult> {
  const timeoutMs = o.commandTimeoutMs ?? 300_000;
  const joinStep = o.joinStep ?? 'join';
  const random = seededRandom(o.seed);
  const [m, keep, extra] = o.sandbox.hosts;
  if (!m || !keep || !extra) throw new Error('the fault campaign needs a sandbox of 3 hosts');
  const result: CampaignResult = { injected: 0, converged: 0, corrupt: 0, failures: [] };
  const kubeconfig = join(o.home, o.cluster, 'kubeconfig');
  const journalPath = join(o.home, o.cluster, 'journal.jsonl');
  const c = ['--cluster', o.cluster];
  const runArgs = (nodes: string[]) => [
    'run',
    o.image,
    '--sandbox',
    o.sandbox.name,
    '--masters',
    m.ip,
    '--nodes',
    nodes.join(','),
    ...c,
  ];
  const ops = {
    run: { args: runArgs([keep.ip]), nodes: [m.ip, keep.ip] },
    add: { args: ['add', '--nodes', extra.ip, ...c], nodes: [m.ip, keep.ip, extra.ip] },
    delete: { args: ['delete', '--nodes', extra.ip, ...c], nodes: [m.ip, keep.ip] },
    reset: { args: ['reset', ...c], nodes: [] as string[] },
  };

  async function must(args: string[]): Promise<number> {
    const r = await start(args, timeoutMs).done;
    if (r.code !== 0)
      throw new Error(
        `berth ${args.join(' ')} exited ${r.code}: ${failureLine(r.stderr)}\n${r.stderr.split('\n').slice(-40).join('\n')}`,
      );
    return r.ms;
  }

  /**
   * Nodes as kubectl sees them equal `ips`, all Ready (and with `kubelet` given, all on that version);
   * polled (bounded), as a kill may leave a kubelet restarting.
   */
  async function nodesReady(ips: string[], kubelet?: string): Promise<string | undefined> {
    const row = (ip: string, ready: string, version: string) =>
      kubelet ? `${ip} ${ready} ${version}` : `${ip} ${ready}`;
    const want = ips.map((ip) => row(ip, 'Ready', kubelet ?? '')).sort();
    let seen = '';
    for (let i = 0; i < 30; i++) {
      try {
        const rows = kubectlNodes(kubeconfig)
          .map((n) => row(n.ip, n.ready ? 'Ready' : 'NotReady', n.kubelet))
          .sort();
        seen = rows.join(', ');
        if (JSON.stringify(rows) === JSON.stringify(want)) return undefined;
      } catch (err) {
        seen = (err as Error).message.split('\n')[0] ?? '';
      }
      await sleep(1000);
    }
    return `nodes: want ${want.join(', ')}, kubectl shows ${seen}`;
  }

  /**
   * After a fault: state checked, then `args` again must converge to `nodes` (on `kubelet`, given one).
   * Counts the fault; it converged when `faultProblems` (how berth met the fault) is empty too.
   */
  async function converge(
    what: string,
    args: string[],
    nodes: string[],
    faultProblems: string[] = [],
    kubelet?: string,
  ) {
    result.injected++;
    const corrupt = await stateProblems(o.home, o.cluster);
    if (corrupt.length > 0) {
      result.corrupt++;
      result.failures.push(`${what}: corrupt state: ${corrupt.join('; ')}`);
    }
    const r = await start(args, timeoutMs).done;
    const problems = [...faultProblems];
    if (r.code !== 0) problems.push(`the next berth ${args[0]} exited ${r.code}: ${failureLine(r.stderr)}`);
    else {
      const nodesWrong = await nodesReady(nodes, kubelet);
      if (nodesWrong) problems.push(nodesWrong);
      problems.push(...(await stateProblems(o.home, o.cluster)));
    }
    if (problems.length === 0) {
      result.converged++;
      o.say(
        `  converged: berth ${args[0]} again in ${(r.ms / 1000).toFixed(1)} s, ${nodes.length} node(s) Ready${kubelet ? ` on ${kubelet}` : ''}`,
      );
    } else {
      result.failures.push(`${what}: ${problems.join('; ')}`);
      o.say(`  did NOT converge: ${problems.join('; ')}`);
    }
  }

  /** One berth command killed at `delay` ms; false when it ended before the kill. */
  async function killed(name: keyof typeof ops, delay: number): Promise<boolean> {
    const op = ops[name];
    const run = start(op.args, timeoutMs);
    const timer = setTimeout(run.kill, delay);
    const r = await run.done;
    clearTimeout(timer);
    if (r.signal !== 'SIGKILL') {
      o.say(`berth ${name} ended (exit ${r.code}) before its kill at ${delay} ms`);
      if (r.code !== 0)
        throw new Error(`berth ${op.args.join(' ')} exited ${r.code}: ${failureLine(r.stderr)}`);
      return false;
    }
    o.say(`berth ${name} killed at ${delay} ms (in: ${lastPhase(r.stderr)})`);
    await converge(`SIGKILL of ${name} at ${delay} ms`, op.args, op.nodes);
    return true;
  }

  const chain = o.upgrades ?? [];
  /** How many links of the upgrade chain the cluster is up: 0 on `image`. */
  let upgraded = 0;

  /**
   * The upgrade to the chain's next image killed at a random step of its plan; false when it ended
   * before the kill. Either way the cluster ends one link up; at the chain's end it starts over.
   */
  async function upgradeKilled(): Promise<boolean> {
    if (upgraded === chain.length) {
      await must(ops.reset.args);
      await must(ops.run.args);
      upgraded = 0;
    }
    const target = chain[upgraded] as UpgradeTarget;
    upgraded++;
    const args = ['upgrade', target.image, ...c];
    const dry = await start([...args, '--dry-run'], timeoutMs).done;
    if (dry.code !== 0)
      throw new Error(`berth ${args.join(' ')} --dry-run exited ${dry.code}: ${failureLine(dry.stderr)}`);
    const plan = [...dry.stdout.matchAll(/^ {2}(\d+\.\d+\.\d+\.\d+ \S+):/gm)].map((x) => x[1] as string);
    if (plan.length === 0) throw new Error(`berth ${args.join(' ')} --dry-run planned no step`);
    const step = plan[Math.floor(random() * plan.length)] as string;
    const delay = Math.round(1000 * random());
    const run = start(args, timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    if (await stepStarted(run, step, timeoutMs)) timer = setTimeout(run.kill, delay);
    const r = await run.done;
    clearTimeout(timer);
    const when = `${delay} ms into ${step} (of ${plan.length} planned steps)`;
    if (r.signal !== 'SIGKILL') {
      o.say(`berth upgrade to ${target.image} ended (exit ${r.code}) before its kill ${when}`);
      if (r.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.code}: ${failureLine(r.stderr)}`);
      return false;
    }
    o.say(`berth upgrade to ${target.image} killed ${when}`);
    await converge(`SIGKILL of upgrade to ${target.image} ${when}`, args, ops.run.nodes, [], target.kubelet);
    return true;
  }

  // a share of the kills each for run and upgrade, the rest for add and delete
  const shares = chain.length > 0 ? 4 : 3;
  const runKills = Math.ceil(o.kills / shares);
  const upgradeKills = chain.length > 0 ? Math.min(o.kills - runKills, Math.ceil(o.kills / shares)) : 0;
  const addDeleteKills = o.kills - runKills - upgradeKills;

  // whole commands, timed: the scale for the kill moments (add and delete only when they get kills)
  o.say(`seed ${o.seed}; image ${o.image}; hosts ${o.sandbox.hosts.map((h) => h.ip).join(' ')}`);
  const whole = { run: await must(ops.run.args), add: 0, delete: 0 };
  if (addDeleteKills > 0) {
    whole.add = await must(ops.add.args);
    whole.delete = await must(ops.delete.args);
  }
  o.say(
    `whole commands: ${Object.entries(whole)
      .filter(([, ms]) => ms > 0)
      .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`)
      .join(', ')}`,
  );
  const moment = (name: keyof typeof whole) => Math.round(whole[name] * (0.03 + 0.92 * random()));

  let kills = 0;
  /** `kill` tried until `want` of its kills landed, at most 3 tries a kill (plus `spare`): a command may end first. */
  async function landed(want: number, kill: () => Promise<boolean>, spare = 0): Promise<void> {
    for (let n = 0, attempt = 0; attempt < want * 3 + spare && n < want; attempt++)
      if (await kill()) {
        n++;
        kills++;
      }
  }
  // kills of run first (each on a reset cluster), then of add and delete in turn (each undoing the other)
  await landed(runKills, async () => {
    await must(ops.reset.args);
    return killed('run', moment('run'));
  });
  // the cluster now is master + keep; extra is out
  const turn: { next: 'add' | 'delete' } = { next: 'add' };
  await landed(
    addDeleteKills,
    () => {
      const name = turn.next;
      turn.next = name === 'add' ? 'delete' : 'add';
      return killed(name, moment(name));
    },
    2,
  );
  if (turn.next === 'delete') await must(ops.delete.args);
  // then upgrades of master + keep, up the chain
  await landed(upgradeKills, upgradeKilled);
  if (kills < o.kills) o.say(`only ${kills} of ${o.kills} kills landed before their command ended`);

  // extra is out of the cluster here, and in it after the link cut
  if (o.linkCut) await linkCut();
  if (o.reboot) await reboot(o.linkCut);
  await must(ops.reset.args);
  o.say(
    `faults injected ${result.injected} / converged ${result.converged} / corrupt state ${result.corrupt}`,
  );
  return result;

  /**
   * A run onto master + keep + extra; when extra's join starts, its link goes down. berth must fail with
   * one line naming extra and the step; keep's join must be in the journal; with the link back, the
   * same run converges.
   */
  async function linkCut(): Promise<void> {
    await must(ops.reset.args);
    const args = runArgs([keep.ip, extra.ip]);
    const run = start(args, timeoutMs);
    if (!(await stepStarted(run, `${extra.ip} ${joinStep}`, timeoutMs)))
      throw new Error(`berth run ended before ${extra.ip} started to join:\n${run.stderr()}`);
    await setHostLink(o.sandbox.name, extra.ip, 'down');
    const what = `link of ${extra.ip} cut at its join`;
    o.say(`${what}`);
    let r: Awaited<Started['done']>;
    try {
      r = await run.done;
    } finally {
      await setHostLink(o.sandbox.name, extra.ip, 'up');
    }
    const line = failureLine(r.stderr);
    o.say(`  berth exited ${r.code} after ${(r.ms / 1000).toFixed(1)} s: ${line}`);
    const journal = await Journal.open(journalPath);
    const keepJoined = journal.entries().some((e) => e.host === keep.ip && e.step === joinStep);
    const problems: string[] = [];
    if (r.code === 0) problems.push('berth succeeded with the link down');
    if (!line.includes(`${extra.ip} ${joinStep} `))
      problems.push(`the failure line names not the host and the step: ${line}`);
    if (!keepJoined) problems.push(`${keep.ip} did not finish its join`);
    await converge(what, args, [m.ip, keep.ip, extra.ip], problems);
  }

  /** extra rebooted (every process killed, booted again) while it joins in an add; the add again converges. */
  async function reboot(extraIn: boolean): Promise<void> {
    if (extraIn) await must(ops.delete.args);
    const run = start(ops.add.args, timeoutMs);
    if (!(await stepStarted(run, `${extra.ip} ${joinStep}`, timeoutMs)))
      throw new Error(`berth add ended before ${extra.ip} started to join:\n${run.stderr()}`);
    const t0 = Date.now();
    await restartHost(o.sandbox.name, extra.ip);
    o.say(`${extra.ip} rebooted during its join (back on SSH in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    const r = await run.done;
    o.say(`  berth add exited ${r.code}: ${failureLine(r.stderr)}`);
    await converge(`reboot of ${extra.ip} during its join`, ops.add.args, ops.add.nodes);
  }
}
