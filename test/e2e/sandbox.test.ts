import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { actionScript, actionShell } from '../../src/host/action.js';
import { installService, serviceStatus } from '../../src/host/services.js';
import { parseCgroupMounts } from '../../src/sandbox/cgroups.js';
import { type HostInit, restartHost, type Sandbox, sandboxDown, sandboxUp } from '../../src/sandbox/index.js';
import { EnvironmentError } from '../../src/util/errors.js';
import { berthPath } from '../../src/util/paths.js';
import { testInit, withSandbox } from '../helpers/sandbox.js';

const isRoot = process.getuid?.() === 0;
const bin = fileURLToPath(new URL('../../../bin/berth', import.meta.url));
let home = '';

before(() => {
  home = mkdtempSync(join(tmpdir(), 'berth-t-sbx-'));
  process.env.BERTH_HOME = home;
});
after(() => rmSync(home, { recursive: true, force: true }));

function ssh(sb: Sandbox, who: string, ip: string, command: string, input?: string) {
  const args = ['-i', sb.keyPath, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null'];
  args.push(
    '-o',
    'BatchMode=yes',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'ConnectTimeout=20',
    `${who}@${ip}`,
    command,
  );
  const r = spawnSync('ssh', args, { encoding: 'utf8', input: input ?? '', timeout: 60_000 });
  return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// Running processes as "pid:start-time", so that a PID reused by another process is not mistaken for ours.
function runningPids(): Set<string> {
  const out = new Set<string>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z') out.add(`${e}:${fields[19]}`);
    } catch {
      // ended while listed
    }
  }
  return out;
}

function cgroupDirs(dir: string, out: string[]): string[] {
  out.push(dir);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) cgroupDirs(join(dir, e.name), out);
  }
  return out;
}

/**
 * The machine's cgroups as far as this process can tell what is its own: the hierarchies, every cgroup
 * below this process's cgroup in each (where the sandbox puts its hosts), and /proc/cgroups, with the
 * cgroup counts of hierarchies in which this process sits below the root left out (others' cgroups
 * come and go beside it; ours are in the tree).
 */
function cgroupState() {
  const mounts = parseCgroupMounts(
    readFileSync('/proc/self/cgroup', 'utf8'),
    readFileSync('/proc/self/mountinfo', 'utf8'),
  );
  const notAtRoot = new Set(
    mounts.filter((m) => m.parentDir !== join('/sys/fs/cgroup', m.dir)).flatMap((m) => m.options.split(',')),
  );
  const table = readFileSync('/proc/cgroups', 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [name, hierarchy, count, enabled] = l.split(/\s+/);
      return `${name} ${hierarchy} ${enabled} ${notAtRoot.has(name as string) && hierarchy !== '0' ? '' : count}`;
    });
  return {
    hierarchies: readdirSync('/sys/fs/cgroup').sort(),
    tree: mounts.flatMap((m) => cgroupDirs(m.parentDir, [])).sort(),
    table,
  };
}

/**
 * The cgroup state once it matches `expected`, or after 10 s: /proc/cgroups still counts a removed cgroup
 * until the kernel has freed it, which after hosts were SIGKILLed mid-boot takes a moment.
 */
async function settledCgroups(
  expected: ReturnType<typeof cgroupState>,
): Promise<ReturnType<typeof cgroupState>> {
  let state = cgroupState();
  for (let i = 0; i < 50 && JSON.stringify(state) !== JSON.stringify(expected); i++) {
    await new Promise((r) => setTimeout(r, 200));
    state = cgroupState();
  }
  return state;
}

function snapshot() {
  return {
    cgroups: cgroupState(),
    netns: new Set(
      sh('ip', ['netns', 'list'])
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ')[0] as string),
    ),
    links: new Set(
      JSON.parse(sh('ip', ['-j', 'link', 'show'])).map((l: { ifname: string }) => l.ifname) as string[],
    ),
    mounts: new Set(readFileSync('/proc/mounts', 'utf8').split('\n').filter(Boolean)),
    pids: runningPids(),
  };
}

function added<T>(now: Set<T>, then: Set<T>): T[] {
  return [...now].filter((x) => !then.has(x));
}

test(
  'sandbox hosts: separate, reachable over SSH, and gone without a trace after down',
  {
    skip: !isRoot && 'needs root',
  },
  () => separateAndGone('t-sbx-e2e', testInit),
);

test(
  'the same with --init sshd: sshd is PID 1',
  { skip: (!isRoot && 'needs root') || testInit === 'sshd' },
  () => separateAndGone('t-sbx-e2e-s', 'sshd'),
);

async function separateAndGone(name: string, init: HostInit | undefined): Promise<void> {
  const before0 = snapshot();
  const sb = await sandboxUp({ name, hosts: 3, ...(init ? { init } : {}) });
  let downDone = false;
  try {
    assert.equal(sb.hosts.length, 3);
    const id = sb.bridge.replace(/^berth-/, '');

    // Each host has its own hostname, and /etc/hostname agrees.
    const names = sb.hosts.map((h) => ssh(sb, 'root', h.ip, 'hostname; cat /etc/hostname'));
    for (const [i, h] of sb.hosts.entries()) {
      assert.equal(names[i]?.out, `${h.name}\n${h.name}`, names[i]?.err);
    }
    assert.equal(new Set(names.map((n) => n.out)).size, 3);

    // PID 1 is the host's init; with systemd, it is running and sshd comes from ssh.service, while the
    // machine's own enabled services (containerd, a registry, etcd...) stay off.
    const pid1 = ssh(sb, 'root', sb.hosts[0]?.ip as string, 'cat /proc/1/comm');
    assert.equal(pid1.out, sb.init === 'systemd' ? 'systemd' : 'sshd', pid1.err);
    assert.equal(sb.init, init ?? 'systemd');
    if (sb.init === 'systemd') {
      for (const h of sb.hosts) {
        const st = ssh(sb, 'root', h.ip, 'systemctl is-system-running; systemctl is-active ssh.service');
        assert.equal(st.out, 'running\nactive', `${h.name}: ${st.err}`);
      }
      const wants = '/etc/systemd/system/multi-user.target.wants';
      const enabled = (existsSync(wants) ? readdirSync(wants) : []).filter(
        (u) => u.endsWith('.service') && u !== 'ssh.service',
      );
      const off = ssh(
        sb,
        'root',
        sb.hosts[0]?.ip as string,
        `systemctl is-active dbus.service ${enabled.join(' ')} | tail -n +2`,
      );
      assert.deepEqual(
        off.out.split('\n').filter((l) => l !== 'inactive'),
        [],
        `${enabled.join(' ')}: ${off.out}`,
      );
    }

    // A file written on host 1 is on neither host 2 nor the machine.
    const probe = `/root/t-sbx-probe-${process.pid}`;
    const [h1, h2, h3] = sb.hosts as [Sandbox['hosts'][0], Sandbox['hosts'][0], Sandbox['hosts'][0]];
    assert.equal(ssh(sb, 'root', h1.ip, `echo one > ${probe} && cat ${probe}`).out, 'one');
    assert.equal(ssh(sb, 'root', h2.ip, `test -e ${probe} && echo present || echo absent`).out, 'absent');
    assert.equal(existsSync(probe), false);

    // The non-root user logs in with the key, is in group sudo, and sudo asks for its password.
    const u = ssh(sb, h3.user, h3.ip, 'id -un; id -Gn');
    assert.match(u.out, /^berth\n.*\bsudo\b/, u.err);
    assert.notEqual(ssh(sb, h3.user, h3.ip, 'sudo -n true').code, 0);
    assert.equal(ssh(sb, h3.user, h3.ip, 'sudo -S -p "" id -u', `${h3.userPassword}\n`).out, '0');

    // Hosts reach each other and the machine (the gateway address).
    assert.equal(
      ssh(sb, 'root', h1.ip, `timeout 5 bash -c 'echo > /dev/tcp/${h2.ip}/22' && echo ok`).out,
      'ok',
    );
    const got = new Promise<string>((resolve) => {
      const server = createServer((s) => {
        s.setEncoding('utf8').on('data', (d: string) => {
          resolve(d.trim());
          s.destroy();
          server.close();
        });
      });
      server.listen(0, sb.gateway, () => {
        const port = (server.address() as { port: number }).port;
        ssh(sb, 'root', h3.ip, `echo from-host > /dev/tcp/${sb.gateway}/${port}`);
      });
    });
    assert.equal(await got, 'from-host');
    // Nothing beyond the sandbox: packets arriving from the bridge are never forwarded.
    assert.equal(readFileSync(`/proc/sys/net/ipv4/conf/${sb.bridge}/forwarding`, 'utf8').trim(), '0');

    // A process started over SSH outlives its session (tests run daemons this way); down must end it.
    ssh(sb, 'root', h2.ip, 'nohup sleep 600 >/dev/null 2>&1 &');
    assert.match(ssh(sb, 'root', h2.ip, 'pgrep -x sleep').out, /^\d+/);

    // Clear failures: the same name again, and a subnet that is already in use.
    await assert.rejects(
      sandboxUp({ name, hosts: 1 }),
      (e: Error) => e instanceof EnvironmentError && /already exists/.test(e.message),
    );
    await assert.rejects(
      sandboxUp({ name: 't-sbx-e2e-clash', hosts: 1, subnet: sb.subnet }),
      (e: Error) =>
        e instanceof EnvironmentError &&
        e.message === `subnet ${sb.subnet} is taken by ${sb.bridge}; choose another with --subnet`,
    );
    assert.equal(existsSync(berthPath('sandboxes', 't-sbx-e2e-clash')), false);

    const ls = spawnSync(bin, ['sandbox', 'ls', '--json'], { encoding: 'utf8', env: process.env });
    assert.equal(ls.status, 0, ls.stderr);
    assert.deepEqual(
      (JSON.parse(ls.stdout) as Sandbox[]).map((s) => s.name),
      [name],
    );

    // What the sandbox made, seen from the machine while it is up.
    const during = snapshot();
    const inHosts = new Set(
      sb.hosts.flatMap((h) => sh('ip', ['netns', 'pids', h.netns]).split('\n').filter(Boolean)),
    );
    const hostPids = [...during.pids].filter((p) => inHosts.has(p.split(':')[0] as string));
    assert.ok(hostPids.length >= 4, 'every host runs at least sshd, host 2 also sleep');
    const ourNetns = added(during.netns, before0.netns).filter((n) => n.startsWith(`berth-${name}-`));
    assert.deepEqual(ourNetns.sort(), sb.hosts.map((h) => h.netns).sort());
    const ourLinks = added(during.links, before0.links).filter(
      (l) => l === sb.bridge || l.startsWith(`bv${id}-`),
    );
    assert.equal(ourLinks.length, 4);
    const ourMounts = added(during.mounts, before0.mounts).filter(
      (m) => m.includes(`/run/netns`) || m.includes(home),
    );
    // systemd hosts have a cgroup in every hierarchy, below this process's own
    const hostCgroups = added(new Set(during.cgroups.tree), new Set(before0.cgroups.tree)).filter((d) =>
      sb.hosts.some((h) => d.endsWith(`/${h.netns}`)),
    );
    const hierarchies = parseCgroupMounts(
      readFileSync('/proc/self/cgroup', 'utf8'),
      readFileSync('/proc/self/mountinfo', 'utf8'),
    ).length;
    assert.equal(hostCgroups.length, sb.init === 'systemd' ? sb.hosts.length * hierarchies : 0);

    const t0 = Date.now();
    await sandboxDown(name);
    downDone = true;
    const downSeconds = (Date.now() - t0) / 1000;
    const after1 = snapshot();
    assert.deepEqual(
      ourNetns.filter((n) => after1.netns.has(n)),
      [],
    );
    assert.deepEqual(
      ourLinks.filter((l) => after1.links.has(l)),
      [],
    );
    assert.deepEqual(
      added(after1.links, before0.links).filter((l) => l.includes(id)),
      [],
    );
    // /run/netns itself stays only while some other namespace still uses it.
    const stillShared = after1.netns.size > 0;
    assert.deepEqual(
      ourMounts.filter((m) => after1.mounts.has(m) && !(stillShared && / \/run\/netns /.test(m))),
      [],
    );
    assert.deepEqual(
      added(after1.mounts, before0.mounts).filter((m) => m.includes(home) || m.includes(name)),
      [],
    );
    assert.deepEqual(
      hostPids.filter((p) => after1.pids.has(p)),
      [],
    );
    // no cgroup left below ours (the kernel leaves empty ones behind), none made anywhere else
    assert.deepEqual(await settledCgroups(before0.cgroups), before0.cgroups);
    assert.equal(existsSync(berthPath('sandboxes', name)), false);
    assert.ok(downSeconds < 15, `down took ${downSeconds} s`);
    await assert.rejects(sandboxDown(name), /does not exist/);
  } finally {
    if (!downDone) await sandboxDown(name).catch(() => {});
  }
}

test('a unit on a systemd host: enabled, started, logged, stopped with its children, unknown elsewhere', {
  skip: (!isRoot && 'needs root') || (testInit === 'sshd' && 'hosts run sshd as PID 1'),
}, async (t) => {
  const sb = await withSandbox(t, { name: 't-sbx-unit', hosts: 2, init: 'systemd' });
  const [h1, h2] = sb.hosts as [Sandbox['hosts'][0], Sandbox['hosts'][0]];
  const unit = 't-sbx-probe.service';
  // the service's main process starts a child in a session of its own, as daemons do
  const write = ssh(
    sb,
    'root',
    h1.ip,
    `cat > /etc/systemd/system/${unit} <<'UNIT'
[Unit]
Description=berth test probe
[Service]
ExecStart=/bin/sh -c 'echo probe says hello; setsid sleep 3001 & exec sleep 3002'
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload && systemctl enable --now ${unit} && systemctl is-enabled ${unit} && systemctl is-active ${unit}`,
  );
  assert.equal(write.code, 0, write.err);
  assert.deepEqual(write.out.split('\n').slice(-2), ['enabled', 'active']);
  const logged = ssh(
    sb,
    'root',
    h1.ip,
    `for i in $(seq 50); do journalctl -u ${unit} -o cat --no-pager | grep -q 'probe says hello' && break; sleep 0.1; done; journalctl -u ${unit} -o cat --no-pager | grep 'probe says'`,
  );
  assert.equal(logged.out, 'probe says hello', logged.err);
  assert.equal(ssh(sb, 'root', h1.ip, 'pgrep -x sleep | wc -l').out, '2');
  const stop = ssh(sb, 'root', h1.ip, `systemctl stop ${unit} && pgrep -x sleep || echo none left`);
  assert.equal(stop.out, 'none left', stop.err);
  // the unit is the first host's own: unknown on the second, absent on the machine
  const other = ssh(sb, 'root', h2.ip, `systemctl status ${unit}`);
  assert.equal(other.code, 4, `${other.out} ${other.err}`);
  assert.equal(existsSync(`/etc/systemd/system/${unit}`), false);
  const removed = ssh(
    sb,
    'root',
    h1.ip,
    `systemctl disable ${unit} && rm /etc/systemd/system/${unit} && systemctl daemon-reload && systemctl is-system-running`,
  );
  assert.equal(removed.out.split('\n').at(-1), 'running', removed.err);
});

test("sandbox --bandwidth caps each host link both ways and the machine's link into the bridge", {
  skip: !isRoot && 'needs root',
}, async (t) => {
  const sb = await withSandbox(t, { name: 't-sbx-bw', hosts: 1, bandwidth: '20mbit' });
  const h = sb.hosts[0] as Sandbox['hosts'][0];
  const veth = `bv${sb.bridge.replace(/^berth-/, '')}-1`;
  assert.match(sh('tc', ['qdisc', 'show', 'dev', veth]), /tbf .*rate 20Mbit/);
  assert.match(sh('tc', ['qdisc', 'show', 'dev', sb.bridge]), /tbf .*rate 20Mbit/);
  assert.match(
    sh('ip', ['netns', 'exec', h.netns, 'tc', 'qdisc', 'show', 'dev', 'eth0']),
    /tbf .*rate 20Mbit/,
  );
  // Throughput from the machine into the host stays near the cap (2.5 MB/s): 2 MB takes well over 0.5 s.
  const t0 = Date.now();
  const r = ssh(sb, 'root', h.ip, 'cat > /dev/null', 'x'.repeat(2_000_000));
  assert.equal(r.code, 0, r.err);
  assert.ok(Date.now() - t0 > 500, `2 MB crossed a 20mbit link in ${Date.now() - t0} ms`);
});

test('sandbox up rejects bad input with one clear line', { skip: !isRoot && 'needs root' }, async () => {
  await assert.rejects(sandboxUp({ name: 'Bad_Name', hosts: 1 }), /sandbox name "Bad_Name"/);
  await assert.rejects(sandboxUp({ name: 't-sbx-bad', hosts: 0 }), /--hosts 0/);
  await assert.rejects(
    sandboxUp({ name: 't-sbx-bad', hosts: 1, subnet: '10.1.2.0/28' }),
    /--subnet 10.1.2.0\/28: use a prefix/,
  );
  await assert.rejects(sandboxUp({ name: 't-sbx-bad', hosts: 1, bandwidth: 'fast' }), /--bandwidth fast/);
  assert.equal(existsSync(berthPath('sandboxes', 't-sbx-bad')), false);
});

test('down removes a half-created sandbox (up killed while starting hosts)', {
  skip: !isRoot && 'needs root',
}, async () => {
  const name = 't-sbx-half';
  const recordFile = berthPath('sandboxes', name, 'sandbox.json');
  const cgroupsBefore = cgroupState();
  const up = spawn(bin, ['sandbox', 'up', '--name', name, '--hosts', '4'], {
    stdio: 'ignore',
    env: process.env,
  });
  let rec:
    | { bridge: string; state: string; hosts: Array<{ netns: string; veth: string; pid?: number }> }
    | undefined;
  try {
    // Kill it once the hosts are being started, before it could finish.
    for (let i = 0; i < 2000 && up.exitCode === null; i++) {
      try {
        const r = JSON.parse(readFileSync(recordFile, 'utf8'));
        if (r.hosts.every((h: { pid?: number }) => h.pid)) {
          rec = r;
          break;
        }
      } catch {
        // not written yet
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    up.kill('SIGKILL');
  } finally {
    await new Promise((r) => (up.exitCode === null && up.signalCode === null ? up.once('exit', r) : r(null)));
  }
  assert.ok(rec, 'the record listed started hosts before up finished');
  await sandboxDown(name);
  const left = snapshot();
  for (const h of rec.hosts) {
    assert.equal(left.netns.has(h.netns), false, h.netns);
    assert.equal(left.links.has(h.veth), false, h.veth);
    if (h.pid)
      assert.equal(
        [...left.pids].some((p) => p.startsWith(`${h.pid}:`)),
        false,
        `host process ${h.pid}`,
      );
  }
  assert.equal(left.links.has(rec.bridge), false);
  assert.deepEqual(await settledCgroups(cgroupsBefore), cgroupsBefore);
  assert.equal(existsSync(berthPath('sandboxes', name)), false);
});

for (const init of ['sshd', 'systemd'] as const) {
  test(`a service berth installs on a ${init} host runs again after the host restarts`, {
    skip:
      (!isRoot && 'needs root') || (init === 'systemd' && testInit === 'sshd' && 'hosts run sshd as PID 1'),
  }, async (t) => {
    const sb = await withSandbox(t, { name: `t-sbx-rs-${init}`, hosts: 1, init });
    const [h] = sb.hosts as [Sandbox['hosts'][0]];
    const name = 't-sbx-restarted';
    const script = actionScript(
      installService({ name, description: 'restart probe', command: 'sleep 3003' }),
    );
    const installed = ssh(sb, 'root', h.ip, actionShell, script);
    assert.equal(installed.code, 0, installed.err);
    const pidOf = () => ssh(sb, 'root', h.ip, 'pgrep -f "^sleep 3003$" || :').out;
    const first = pidOf();
    assert.match(first, /^\d+$/);
    await restartHost(sb.name, h.ip);
    // the init may start it a moment after sshd answers: bounded polling
    let again = '';
    for (let i = 0; i < 50 && !/^\d+$/.test(again); i++) {
      again = pidOf();
      if (!/^\d+$/.test(again)) await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(again, /^\d+$/, `${name} is not running after the restart`);
    assert.notEqual(again, first, 'a new process, the old one went with the restart');
    assert.equal(ssh(sb, 'root', h.ip, serviceStatus(name)).code, 0);
  });
}
