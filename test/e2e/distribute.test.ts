// The rootfs phase on five sandbox hosts: the tree leaves this machine once and the hosts relay it;
// every host ends with the same files as the local tree (registry/ only on the registry host), a host
// without python3 gets a direct copy, nothing of the relay stays behind, a re-apply sends nothing, a
// slightly changed tree sends about only what changed, and a host that fails mid-stream is named in one line, holds no half-written rootfs, and does not stop the
// hosts after it in the chain.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runPhases } from '../../src/apply/engine.js';
import { sshRunner } from '../../src/apply/host-run.js';
import { Journal } from '../../src/apply/journal.js';
import type { Engine } from '../../src/apply/phase.js';
import { copyRootfs } from '../../src/apply/phases/copy-rootfs.js';
import type { PlannedCluster } from '../../src/apply/planned-cluster.js';
import type { ResolvedHost } from '../../src/clusterfile/index.js';
import { SshPool, type SshSession } from '../../src/ssh/index.js';
import { withSandbox } from '../helpers/sandbox.js';

function makeRootfs(dir: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'etc', 'deep', 'er'), { recursive: true });
  mkdirSync(join(dir, 'registry', 'docker', 'registry', 'v2', 'blobs'), { recursive: true });
  writeFileSync(join(dir, 'bin', 'tool'), '#!/bin/sh\necho tool\n');
  chmodSync(join(dir, 'bin', 'tool'), 0o750);
  writeFileSync(join(dir, 'etc', 'deep', 'er', 'conf.yaml'), 'a: 1\n');
  writeFileSync(join(dir, 'etc', 'empty'), '');
  symlinkSync('../bin/tool', join(dir, 'etc', 'tool-link'));
  writeFileSync(join(dir, 'payload.bin'), randomBytes(12 * 1024 * 1024));
  writeFileSync(
    join(dir, 'registry', 'docker', 'registry', 'v2', 'blobs', 'blob'),
    randomBytes(2 * 1024 * 1024),
  );
}

/** Every entry with its type, mode, link target and content digest, as one sorted text. */
const listing = (root: string) =>
  `cd ${root} && find . -mindepth 1 -printf '%y %m %p %l\\n' | sort && find . -type f -print0 | sort -z | xargs -0 -r sha256sum`;

function localListing(root: string, withoutRegistry: boolean): string {
  const filter = withoutRegistry ? ` | grep -v '[ ]\\./registry'` : '';
  const r = spawnSync('sh', ['-c', `(${listing(root)})${filter}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

function captureLog(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    lines.push(String(chunk));
    return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  return { lines, restore: () => (process.stderr.write = original) };
}

test('the rootfs is sent once, relayed by the hosts, and lands identically everywhere', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'berth-dist-e2e-'));
  process.env.BERTH_HOME = home;
  const sb = await withSandbox(t, { name: 't-dist-1', hosts: 5 }).catch((err) => {
    rmSync(home, { recursive: true, force: true });
    throw err;
  });
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const knownHosts = join(home, 'known_hosts');
  writeFileSync(knownHosts, `${sb.hosts.map((h) => `${h.ip} ${h.hostKey}`).join('\n')}\n`);
  const pool = new SshPool({ knownHostsPath: knownHosts });
  t.after(() => pool.closeAll());
  const rootfsDir = join(home, 'rootfs');
  makeRootfs(rootfsDir);

  const hosts: ResolvedHost[] = sb.hosts.map((h, i) => ({
    ip: h.ip,
    port: h.port,
    roles: [i === 0 ? 'master' : 'node'],
    env: {},
    ssh: { user: 'root', privateKeyPath: sb.keyPath },
  }));
  const sessions = await Promise.all(
    hosts.map((h) => pool.session({ host: h.ip, privateKeyPath: sb.keyPath })),
  );
  const sh = async (s: SshSession, cmd: string) => (await s.exec(cmd, { timeoutMs: 60_000 })).stdout;
  const planned = (name: string, key = 'dist-test-1'): PlannedCluster =>
    ({
      name,
      hosts,
      masters: hosts.slice(0, 1),
      nodes: hosts.slice(1),
      registryHosts: hosts.slice(0, 1),
      facts: new Map(),
      images: { key, rootfsDir },
      remoteRootfs: `/var/lib/berth/${name}/rootfs`,
    }) as unknown as PlannedCluster;
  const sent: Array<{ what: string; bytes: number }> = [];
  const runner = sshRunner(pool, hosts, { concurrency: 20 });
  const engine = async (name: string): Promise<Engine> => ({
    journal: await Journal.open(join(home, name, 'journal')),
    runner: {
      ...runner,
      async copy(copy, ips) {
        const r = await runner.copy(copy, ips);
        sent.push({ what: copy.what, bytes: r.bytesSent });
        return r;
      },
    },
    options: {},
  });
  const leftovers = async (s: SshSession, name: string) => {
    assert.equal(
      (await sh(s, `ls -A /var/lib/berth/${name} 2>/dev/null || true`)).trim(),
      'rootfs',
      `${s.label}: staging left`,
    );
    assert.equal(
      (await sh(s, `ss -ltnH | awk '{print $4}' | grep -v ':22$' || true`)).trim(),
      '',
      `${s.label}: a listener is left`,
    );
    assert.equal(
      (await sh(s, `pgrep -f 'berth-relay-p[o]rt' || true`)).trim(),
      '',
      `${s.label}: a relay process is left`,
    );
  };

  // host 4 has no python3: it must get a direct copy
  const noPython = sessions[4] as SshSession;
  await sh(
    noPython,
    `: > /tmp/no-python; for d in $(echo "$PATH" | tr : ' '); do if [ -e "$d/python3" ]; then mount --bind /tmp/no-python "$(readlink -f "$d/python3")"; fi; done`,
  );

  const cap = captureLog();
  try {
    await runPhases([copyRootfs], planned('t-dist-a'), await engine('t-dist-a'));
  } finally {
    cap.restore();
  }
  const text = cap.lines.join('');
  assert.match(
    text,
    new RegExp(`${hosts[4]?.ip}: no python3 for the relay; the rootfs goes over SSH directly`),
  );
  assert.match(text, /sending the rootfs \([\d.]+ \w+, sha256 [0-9a-f]{12}\) once, relayed by 4 hosts/);

  let full = localListing(rootfsDir, false);
  let base = localListing(rootfsDir, true);
  assert.match(full, /registry/);
  for (const [i, s] of sessions.entries()) {
    const got = await sh(s, listing('/var/lib/berth/t-dist-a/rootfs'));
    assert.equal(got, i === 0 ? full : base, `${s.label}: the rootfs differs from the local tree`);
    await leftovers(s, 't-dist-a');
  }

  // a re-apply: every host's journal shows this rootfs, so the phase has nothing to do
  const again = await runPhases([copyRootfs], planned('t-dist-a'), await engine('t-dist-a'));
  assert.equal(again[0]?.outcome, 'skipped');

  // a slightly changed tree (one file edited, one added) over the one in place: only the changes travel
  writeFileSync(join(rootfsDir, 'etc', 'deep', 'er', 'conf.yaml'), 'a: 2\n');
  writeFileSync(join(rootfsDir, 'bin', 'added.bin'), randomBytes(256 * 1024));
  const changed = 256 * 1024 + 5;
  full = localListing(rootfsDir, false);
  base = localListing(rootfsDir, true);
  sent.length = 0;
  const capChange = captureLog();
  try {
    await runPhases([copyRootfs], planned('t-dist-a', 'dist-test-2'), await engine('t-dist-a'));
  } finally {
    capChange.restore();
  }
  const line =
    /sending the rootfs \(([\d.]+) (\w+), (\d+) unchanged file\(s\) left out, sha256 [0-9a-f]{12}\) once, relayed by 4 hosts/.exec(
      capChange.lines.join(''),
    );
  assert.ok(line, 'the relayed stream leaves out the unchanged files');
  assert.equal(line[3], '3', 'payload.bin, bin/tool and etc/empty are left out');
  const stream = Number(line[1]) * (UNITS[line[2] as string] ?? Number.NaN);
  assert.ok(stream < changed + 16 * 1024, `the stream is ${stream} bytes for ${changed} changed`);
  // the rootfs: the stream once, plus the changed files again for the host without python3; registry: nothing
  assert.deepEqual(
    sent.map((s) => s.what),
    ['rootfs', 'registry'],
  );
  const rootfsSent = sent[0]?.bytes ?? Number.NaN;
  assert.ok(rootfsSent < 2 * changed + 16 * 1024, `${rootfsSent} bytes sent for ${changed} changed`);
  assert.equal(sent[1]?.bytes, 0);
  for (const [i, s] of sessions.entries()) {
    const got = await sh(s, listing('/var/lib/berth/t-dist-a/rootfs'));
    assert.equal(got, i === 0 ? full : base, `${s.label}: the changed rootfs differs from the local tree`);
    await leftovers(s, 't-dist-a');
  }

  // host 2 runs out of space mid-stream: named in one line, no half-written rootfs, hosts after it served
  const failing = sessions[2] as SshSession;
  await sh(
    failing,
    'mkdir -p /var/lib/berth/t-dist-b && mount -t tmpfs -o size=1m tmpfs /var/lib/berth/t-dist-b',
  );
  // (the mount goes away with the host's mount namespace if the test stops early)
  const engineB = await engine('t-dist-b');
  const err = await runPhases([copyRootfs], planned('t-dist-b'), engineB).then(
    () => assert.fail('a full disk on one host must fail the phase'),
    (e: Error) => e,
  );
  assert.ok(err.message.startsWith(`${hosts[2]?.ip}: `), err.message);
  assert.doesNotMatch(err.message, /\n/);
  assert.match(err.message, /unpacking the stream failed: tar: /);
  assert.equal(
    (await sh(failing, 'ls -A /var/lib/berth/t-dist-b')).trim(),
    '',
    'half-written rootfs or staging left',
  );
  for (const [i, s] of sessions.entries()) {
    if (i === 2) continue;
    assert.equal(await sh(s, listing('/var/lib/berth/t-dist-b/rootfs')), i === 0 ? full : base, s.label);
    await leftovers(s, 't-dist-b');
    assert.equal(
      engineB.journal.isDone(s.spec.host, 'rootfs', engineB.journal.entries()[0]?.inputs ?? ''),
      true,
    );
  }
  assert.equal((await sh(failing, `ss -ltnH | awk '{print $4}' | grep -v ':22$' || true`)).trim(), '');
  await sh(failing, 'umount /var/lib/berth/t-dist-b');
});
