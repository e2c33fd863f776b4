import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EnvironmentError, UsageError } from '../util/errors.js';
import { exists } from '../util/local-files.js';
import { log, registerSecret } from '../util/log.js';
import { mapLimit } from '../util/pool.js';
import { encryptSecret } from '../util/secrets.js';
import {
  type BootPlan,
  bootOutput,
  bootScript,
  type HostInit,
  sshdConfig,
  startHost,
  waitForSsh,
} from './boot.js';
import { createHostCgroups, hostCgroupDir, machineCgroupLayout } from './cgroups.js';
import { teardown } from './down.js';
import { createBridge, createHostLinks, isMountPoint, netnsDir, netnsExists } from './network.js';
import { checkSandboxEnvironment } from './preflight.js';
import { parseRate } from './rate.js';
import { mustRun } from './run.js';
import {
  checkSandboxName,
  hostDir,
  keyPathOf,
  readRecord,
  sandboxDir,
  toSandbox,
  writeRecord,
} from './store.js';
import {
  type Cidr,
  checkSubnetFree,
  checkSubnetSize,
  formatCidr,
  gatewayAddress,
  hostAddress,
  pickFreeSubnet,
} from './subnet.js';
import { ensureInotifyInstances, haveSystemd, systemdPath, waitForSystemRunning } from './systemd-host.js';
import type { HostRecord, Sandbox, SandboxRecord } from './types.js';

export interface SandboxUpOptions {
  name: string;
  hosts: number;
  subnet?: string;
  bandwidth?: string;
  /** The hosts' PID 1; by default systemd where the machine has it, else sshd (and `up` says so). */
  init?: HostInit;
}

const sshPort = 22;
const user = 'berth';
const maxHosts = 500;

function password(): string {
  return randomBytes(15).toString('base64url');
}

async function keygen(path: string, comment: string): Promise<string> {
  await mustRun(`generating key ${path}`, 'ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    comment,
    '-f',
    path,
  ]);
  return (await readFile(`${path}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
}

function checkOptions(opts: SandboxUpOptions): void {
  checkSandboxName(opts.name);
  if (!Number.isInteger(opts.hosts) || opts.hosts < 1 || opts.hosts > maxHosts) {
    throw new UsageError(`--hosts ${opts.hosts}: give a whole number from 1 to ${maxHosts}`);
  }
  if (opts.bandwidth !== undefined) parseRate(opts.bandwidth);
  if (opts.init !== undefined && opts.init !== 'systemd' && opts.init !== 'sshd') {
    throw new UsageError(`--init ${opts.init}: give systemd or sshd`);
  }
}

async function chooseInit(wanted: HostInit | undefined): Promise<HostInit> {
  if (wanted === 'sshd') return 'sshd';
  if (await haveSystemd()) return 'systemd';
  if (wanted === 'systemd') {
    throw new EnvironmentError(
      `--init systemd: ${systemdPath} not found; install it with: apt-get install systemd (or use --init sshd)`,
    );
  }
  log.info(`${systemdPath} not found: hosts run sshd as PID 1, without systemctl (as with --init sshd)`);
  return 'sshd';
}

function alreadyExists(name: string): EnvironmentError {
  return new EnvironmentError(
    `sandbox ${name} already exists; remove it with: berth sandbox down --name ${name}`,
  );
}

/** Brings up `hosts` local hosts reachable over SSH; on any failure removes what it made and rethrows. */
export async function sandboxUp(opts: SandboxUpOptions): Promise<Sandbox> {
  checkOptions(opts);
  await checkSandboxEnvironment();
  const dir = sandboxDir(opts.name);
  if (await exists(dir)) throw alreadyExists(opts.name);
  const init = await chooseInit(opts.init);

  let subnet: Cidr;
  if (opts.subnet) {
    subnet = checkSubnetSize(opts.subnet, opts.hosts);
    await checkSubnetFree(subnet);
  } else {
    subnet = await pickFreeSubnet(opts.hosts);
  }
  const id = randomBytes(3).toString('hex');
  const hosts: HostRecord[] = [];
  const plain: Array<{ root: string; user: string }> = [];
  for (let i = 0; i < opts.hosts; i++) {
    const netns = `berth-${opts.name}-${i + 1}`;
    if (await netnsExists(netns)) {
      throw new EnvironmentError(
        `network namespace ${netns} already exists (a sandbox ${opts.name} of another BERTH_HOME?); choose another --name`,
      );
    }
    const pw = { root: password(), user: password() };
    registerSecret(pw.root);
    registerSecret(pw.user);
    plain.push(pw);
    hosts.push({
      name: `${opts.name}-${i + 1}`,
      ip: hostAddress(subnet, i + 1),
      port: sshPort,
      netns,
      veth: `bv${id}-${i + 1}`,
      rootPassword: encryptSecret(pw.root),
      user,
      userPassword: encryptSecret(pw.user),
      hostKey: '',
    });
  }
  const rec: SandboxRecord = {
    version: 1,
    name: opts.name,
    id,
    subnet: formatCidr(subnet),
    gateway: gatewayAddress(subnet),
    bridge: `berth-${id}`,
    init,
    createdNetnsDir: !(await isMountPoint(netnsDir)),
    state: 'creating',
    hosts,
  };
  if (opts.bandwidth) rec.bandwidth = opts.bandwidth;

  await mkdir(dirname(dir), { recursive: true, mode: 0o700 });
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyExists(opts.name);
    throw err;
  }
  // The record exists before any kernel object, so that `down` can always find what to remove.
  await writeRecord(rec);
  try {
    await bringUp(rec, subnet, plain);
  } catch (err) {
    log.debug(`sandbox ${opts.name}: up failed, removing what was made`);
    await teardown(rec)
      .then(() => rm(dir, { recursive: true, force: true }))
      .catch((e) =>
        log.warn(
          `sandbox ${opts.name}: cleanup after failed up: ${(e as Error).message}; run berth sandbox down --name ${opts.name}`,
        ),
      );
    throw err;
  }
  return toSandbox((await readRecord(opts.name)) as SandboxRecord);
}

async function bringUp(rec: SandboxRecord, subnet: Cidr, plain: Array<{ root: string; user: string }>) {
  const started = Date.now();
  const keyPath = keyPathOf(rec.name);
  const etcHosts = [
    '127.0.0.1 localhost',
    '::1 localhost ip6-localhost ip6-loopback',
    `${rec.gateway} ${rec.name}-gateway`,
    ...rec.hosts.map((h) => `${h.ip} ${h.name}`),
    '',
  ].join('\n');

  const cgroups = rec.init === 'systemd' ? await machineCgroupLayout() : undefined;
  if (cgroups) {
    const raised = await ensureInotifyInstances(rec.hosts.length);
    if (raised)
      log.info(`raised fs.inotify.max_user_instances to ${raised} for ${rec.hosts.length} systemd hosts`);
  }
  const plans: BootPlan[] = rec.hosts.map((h, i) => {
    const plan: BootPlan = {
      dir: hostDir(rec.name, i),
      hostname: h.name,
      netns: h.netns,
      ip: h.ip,
      prefix: subnet.prefix,
      gateway: rec.gateway,
      user: h.user,
    };
    if (rec.bandwidth) plan.bandwidth = rec.bandwidth;
    if (cgroups) {
      plan.systemd = { cgroups, cgroupLeaf: h.netns, machineId: randomBytes(16).toString('hex') };
    }
    return plan;
  });

  const publicKey = await keygen(keyPath, `berth-sandbox-${rec.name}`);
  await mapLimit(plans, 16, async (p, i) => {
    const h = rec.hosts[i] as HostRecord;
    for (const sub of ['upper', 'work', 'root', 'containerd']) {
      await mkdir(join(p.dir, sub), { recursive: true, mode: 0o755 });
    }
    h.hostKey = await keygen(join(p.dir, 'ssh_host_ed25519_key'), `root@${h.name}`);
    await writeFile(join(p.dir, 'hostname'), `${h.name}\n`);
    await writeFile(join(p.dir, 'hosts'), etcHosts);
    await writeFile(join(p.dir, 'sshd_config'), sshdConfig(h.ip));
    await writeFile(join(p.dir, 'authorized_keys'), `${publicKey}\n`, { mode: 0o600 });
    await writeFile(join(p.dir, 'boot.sh'), bootScript(p), { mode: 0o700 });
  });
  // recorded before they exist, so that down removes them whatever happens next
  rec.hosts.forEach((h, i) => {
    const sd = plans[i]?.systemd;
    if (sd) h.cgroups = sd.cgroups.mounts.map((m) => hostCgroupDir(m, sd.cgroupLeaf));
  });
  await writeRecord(rec);
  for (const p of plans) if (p.systemd) await createHostCgroups(p.systemd.cgroups, p.systemd.cgroupLeaf);

  await createBridge(rec.bridge, `${rec.gateway}/${subnet.prefix}`, rec.bandwidth);
  // Another `up` may have taken the same range between our check and the bridge address.
  await checkSubnetFree(subnet, rec.bridge);
  await createHostLinks(rec.bridge, rec.hosts, rec.bandwidth);
  log.debug(`sandbox ${rec.name}: network ready after ${Date.now() - started} ms`);

  const deadline = Date.now() + Math.max(30_000, rec.hosts.length * 1500);
  const pids = await Promise.all(
    plans.map((p, i) => {
      const pw = plain[i] as { root: string; user: string };
      return startHost(p, join(p.dir, 'boot.sh'), `root:${pw.root}\n${p.user}:${pw.user}\n`);
    }),
  );
  rec.hosts.forEach((h, i) => {
    h.pid = pids[i] as number;
  });
  await writeRecord(rec);
  await Promise.all(
    plans.map(async (p, i) => {
      const pid = pids[i] as number;
      if (p.systemd) await waitForSystemRunning(p.hostname, pid, deadline, () => bootOutput(p));
      await waitForSsh(p, pid, sshPort, deadline);
    }),
  );
  rec.state = 'up';
  await writeRecord(rec);
  log.debug(
    `sandbox ${rec.name}: ${rec.hosts.length} hosts ${rec.init === 'systemd' ? 'running systemd and ' : ''}answering SSH after ${Date.now() - started} ms`,
  );
}
