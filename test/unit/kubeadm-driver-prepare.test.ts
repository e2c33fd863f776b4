import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { parseKubeVersion } from '../../src/runtime/kube-version.js';
import { kubeadmRuntime } from '../../src/runtime/kubeadm/driver.js';
import { hostChecksScript } from '../../src/runtime/kubeadm/host-checks.js';
import { describeCertificate } from '../../src/runtime/kubeadm/pki/index.js';
import { InputError } from '../../src/util/errors.js';
import { kubeadmBase, previousWithCas } from '../helpers/kubeadm-context.js';

const strings = (v: unknown): string[] =>
  typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.values(v).flatMap(strings) : [];

test('prepare on a new cluster makes the CAs, the master files and a token with a TTL', async () => {
  const before = Date.now();
  const s = await kubeadmRuntime.prepare(kubeadmBase(1, 1), undefined);
  assert.equal(describeCertificate(s.cas.ca.cert).isCa, true);
  const files = s.masters['10.0.0.1'];
  assert.ok(files?.pki['apiserver.crt'] && files.pki['etcd/peer.key'] && files.kubeconfigs['admin.conf']);
  assert.match(s.bootstrapToken, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  assert.ok(s.tokenExpires >= before + 24 * 3600 * 1000 && s.tokenExpires <= Date.now() + 24 * 3600 * 1000);
  // berth masks every string of the state in its logs: no address or name may be one
  for (const v of strings(s)) assert.ok(!/^10\.0\.0\.|^m0$/.test(v), `state value ${v} is not a secret`);
});

test('prepare keeps the CAs, keeps master files until the masters change, keeps the token while valid', async () => {
  const previous = await previousWithCas();
  const one = await kubeadmRuntime.prepare(kubeadmBase(1, 1), previous);
  assert.equal(one.cas, previous.cas, 'the CAs of the previous apply');
  const again = await kubeadmRuntime.prepare(kubeadmBase(1, 2), one);
  assert.deepEqual(again, one, 'nothing new for an unchanged set of masters (a worker added)');

  const two = await kubeadmRuntime.prepare(kubeadmBase(2, 1), one);
  assert.deepEqual(two.cas, one.cas, 'CAs never made again');
  assert.equal(two.bootstrapToken, one.bootstrapToken);
  const m0 = describeCertificate(two.masters['10.0.0.1']?.pki['apiserver.crt'] as string);
  assert.ok(m0.ipAddresses.includes('10.0.0.2'), 'the leaves are made again for the new set of masters');
  assert.ok(two.masters['10.0.0.2']?.pki['etcd/server.crt']);
  assert.equal(
    describeCertificate(two.masters['10.0.0.2']?.pki['apiserver.crt'] as string).issuer,
    describeCertificate(one.cas.ca.cert).subject,
  );

  const shrunk = await kubeadmRuntime.prepare(kubeadmBase(1, 1), two);
  assert.deepEqual(Object.keys(shrunk.masters), ['10.0.0.1'], 'a departed master keeps no files');

  const soon = await kubeadmRuntime.prepare(kubeadmBase(1, 1), {
    ...one,
    tokenExpires: Date.now() + 3600 * 1000,
  });
  assert.notEqual(soon.bootstrapToken, one.bootstrapToken, 'a token expiring within 2 h is replaced');
  assert.ok(soon.tokenExpires > Date.now() + 23 * 3600 * 1000);
});

test('prepare refuses an image without a version, or older than kubeadm 1.22, before any host', async () => {
  await assert.rejects(
    kubeadmRuntime.prepare({ ...kubeadmBase(1, 0), kubeVersion: undefined }, undefined),
    (e: unknown) => e instanceof InputError && /has no version label/.test(e.message),
  );
  await assert.rejects(
    kubeadmRuntime.prepare({ ...kubeadmBase(1, 0), kubeVersion: parseKubeVersion('v1.21.14') }, undefined),
    InputError,
  );
});

/** A host's /proc as the checks read it. */
function fakeProc(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'berth-kubeadm-checks-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

function runChecks(root: string, role: 'control-plane' | 'worker'): { status: number; stderr: string } {
  try {
    execFileSync('sh', ['-e', '-c', hostChecksScript(role, 6443, root)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { status: 0, stderr: '' };
  } catch (err) {
    const e = err as { status: number; stderr: Buffer };
    return { status: e.status, stderr: e.stderr.toString() };
  }
}

const tcpHeader =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const listen = (port: number) =>
  `   0: 00000000:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0\n`;

test('host checks read what the host has and name every failure with its fix on one line', () => {
  const good = fakeProc({
    'proc/swaps': 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n',
    'proc/net/tcp': tcpHeader + listen(22),
    'proc/filesystems': 'nodev\tsysfs\nnodev\toverlay\n',
    'proc/sys/net/bridge/bridge-nf-call-iptables': '1\n',
    'proc/sys/net/ipv4/ip_forward': '1\n',
    'proc/sys/vm/swappiness': '60\n',
  });
  const bad = fakeProc({
    'proc/swaps': 'Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1024 0 -2\n',
    'proc/net/tcp': tcpHeader + listen(2379) + listen(10250),
    'proc/net/tcp6': tcpHeader + listen(10259),
    'proc/filesystems': 'nodev\tsysfs\n',
    'proc/sys/net/ipv4/ip_forward': '0\n',
    'proc/sys/vm/swappiness': '60\n',
  });
  const noBridgeCall = fakeProc({
    'proc/swaps': 'Filename\n',
    'proc/filesystems': 'nodev\toverlay\n',
    'proc/sys/net/bridge/bridge-nf-call-iptables': '0\n',
    'proc/sys/net/ipv4/ip_forward': '1\n',
  });
  try {
    assert.deepEqual(runChecks(good, 'control-plane'), { status: 0, stderr: '' });
    const cp = runChecks(bad, 'control-plane');
    assert.equal(cp.status, 1);
    assert.equal(cp.stderr.trim().split('\n').length, 1, 'one line');
    const failures = cp.stderr.trim().split('; [');
    assert.deepEqual(
      failures.map((f) => /^\[?([^\]]+)\]/.exec(f)?.[1]),
      [
        'Swap',
        'Port-2379',
        'Port-10250',
        'Port-10259',
        'Module-overlay',
        'Module-br_netfilter',
        'Sysctl-net.ipv4.ip_forward',
      ],
    );
    assert.match(cp.stderr, /swapoff -a/);
    assert.match(cp.stderr, /modprobe br_netfilter/);
    assert.match(cp.stderr, /net.ipv4.ip_forward is 0, not 1: run sysctl -w net.ipv4.ip_forward=1/);
    const w = runChecks(bad, 'worker');
    assert.doesNotMatch(w.stderr, /Port-2379|Port-10259/, 'a worker needs only the kubelet port');
    assert.match(w.stderr, /\[Port-10250\]/);
    assert.match(
      runChecks(noBridgeCall, 'worker').stderr,
      /^\[Sysctl-net.bridge.bridge-nf-call-iptables\] net.bridge.bridge-nf-call-iptables is 0, not 1: run sysctl -w net.bridge.bridge-nf-call-iptables=1/,
    );
  } finally {
    for (const d of [good, bad, noBridgeCall]) rmSync(d, { recursive: true, force: true });
  }
});
