import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { type BootPlan, bootScript } from '../../src/sandbox/boot.js';
import { type CgroupLayout, hostCgroupDir, parseCgroupMounts } from '../../src/sandbox/cgroups.js';
import { degradedMessage } from '../../src/sandbox/systemd-host.js';

// /proc/self/cgroup and the cgroup lines of /proc/self/mountinfo of a cgroup v1 machine (hybrid, with
// cpu and cpuacct mounted apart), as seen by a process in a memory cgroup of its own.
const hybridSelf = `9:name=systemd:/
8:pids:/
4:memory:/jobs/j1
2:cpuacct:/
1:cpu:/
0::/
`;
const hybridMounts = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
`;

test('each mounted hierarchy of this process gets a host child, mounted again with its controllers', () => {
  const mounts = parseCgroupMounts(hybridSelf, hybridMounts);
  assert.deepEqual(
    mounts.map((m) => [m.dir, m.type, m.options, hostCgroupDir(m, 'berth-x-1')]),
    [
      ['systemd', 'cgroup', 'none,name=systemd', '/sys/fs/cgroup/systemd/berth-x-1'],
      ['pids', 'cgroup', 'pids', '/sys/fs/cgroup/pids/berth-x-1'],
      ['memory', 'cgroup', 'memory', '/sys/fs/cgroup/memory/jobs/j1/berth-x-1'],
      ['cpuacct', 'cgroup', 'cpuacct', '/sys/fs/cgroup/cpuacct/berth-x-1'],
      ['cpu', 'cgroup', 'cpu', '/sys/fs/cgroup/cpu/berth-x-1'],
      ['unified', 'cgroup2', '', '/sys/fs/cgroup/unified/berth-x-1'],
    ],
  );
});

test('joined controllers, a sub-tree mount and a cgroup2-only machine are planned too', () => {
  const joined = parseCgroupMounts(
    '3:cpu,cpuacct:/user.slice\n',
    '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpuacct,cpu\n',
  );
  assert.deepEqual(
    joined.map((m) => [m.options, m.parentDir]),
    [['cpu,cpuacct', '/sys/fs/cgroup/cpu,cpuacct/user.slice']],
  );
  // berth inside a container whose cgroup mount shows only its own sub-tree
  const sub = parseCgroupMounts(
    '0::/docker/abc\n',
    '40 31 0:37 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n',
  );
  assert.deepEqual(
    sub.map((m) => [m.dir, m.parentDir]),
    [['', '/sys/fs/cgroup']],
  );
  // a hierarchy mounted nowhere under /sys/fs/cgroup is left out
  assert.deepEqual(
    parseCgroupMounts('5:devices:/\n', '50 1 0:40 / /mnt/devices rw - cgroup cgroup rw,devices\n'),
    [],
  );
});

function plan(systemd: boolean): BootPlan {
  const p: BootPlan = {
    dir: "/tmp/berth it's/hosts/1",
    hostname: 'sb-1',
    netns: 'berth-sb-1',
    ip: '10.210.1.2',
    prefix: 24,
    gateway: '10.210.1.1',
    user: 'berth',
    bandwidth: '20mbit',
  };
  if (systemd) {
    const cgroups: CgroupLayout = {
      mounts: parseCgroupMounts(hybridSelf, hybridMounts),
      links: [{ name: 'cpu,cpuacct', target: 'cpu' }],
    };
    p.systemd = { cgroups, cgroupLeaf: 'berth-sb-1', machineId: '0123456789abcdef0123456789abcdef' };
  }
  return p;
}

test('both boot scripts are valid sh; the systemd one joins, mounts and keeps units off', () => {
  for (const sd of [false, true]) {
    const r = spawnSync('sh', ['-n'], { input: bootScript(plan(sd)), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
  const s = bootScript(plan(true));
  assert.match(s, /^echo 0 > \/sys\/fs\/cgroup\/memory\/jobs\/j1\/berth-sb-1\/cgroup.procs$/m);
  assert.match(s, /^exec unshare -C \/bin\/sh "\$0" cgroup-rooted$/m);
  assert.match(
    s,
    /mount -t cgroup -o nosuid,nodev,noexec,none,name=systemd cgroup "\$R\/sys\/fs\/cgroup\/"systemd/,
  );
  assert.match(s, /mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "\$R\/sys\/fs\/cgroup\/"unified/);
  assert.match(s, /^mount -t sysfs -o ro,/m);
  assert.match(s, /^mount -o remount,bind,ro "\$R\/proc\/sys"$/m);
  assert.match(s, /systemd-sysctl\.service/);
  assert.match(s, /\/lib\/systemd\/systemd --system <\/dev\/null\n$/);
  const sshd = bootScript(plan(false));
  assert.doesNotMatch(sshd, /cgroup-rooted|systemd/);
  assert.match(sshd, /exec \/usr\/sbin\/sshd -D -e -f \/etc\/ssh\/sshd_config <\/dev\/null\n$/);
});

test('a degraded host is named with its failed units in one line', () => {
  const list =
    'console-getty.service loaded failed failed Console Getty\nfoo.mount loaded failed failed /foo\n';
  const msg = degradedMessage('sb-2', list);
  assert.equal(
    msg,
    'sb-2: systemd is degraded, failed units: console-getty.service, foo.mount (see systemctl status UNIT on the host)',
  );
  assert.doesNotMatch(msg, /\n/);
});

test('a boot script boots the host again after a restart without undoing what the host set up since', () => {
  for (const sd of [false, true]) {
    const s = bootScript(plan(sd));
    // the network namespace outlives a restart with its address, route and qdisc
    assert.match(s, /^ip addr replace 10\.210\.1\.2\/24 dev eth0$/m);
    assert.match(s, /^ip route replace default via 10\.210\.1\.1$/m);
    assert.match(s, /^tc qdisc replace dev eth0 root /m);
    assert.doesNotMatch(s, /^(ip addr add|ip route add|tc qdisc add) /m);
    // /etc/hosts (berth's lines in it) survives; the first boot marks the host provisioned before pivoting
    assert.match(s, /^if \[ ! -e "\$H\/provisioned" \]; then cp "\$H\/hosts" "\$R\/etc\/hosts"; fi$/m);
    assert.ok(s.indexOf(': > "$H/provisioned"') < s.indexOf('pivot_root'));
  }
  // units enabled on the host after its first boot are not swept away again
  const units = bootScript(plan(true));
  const sweep = units.indexOf('for l in "$R/etc/systemd/system"/*.wants/*');
  assert.ok(
    sweep > units.indexOf('if [ ! -e "$H/provisioned" ]; then\n  for l'),
    'the sweep is first-boot only',
  );
});
