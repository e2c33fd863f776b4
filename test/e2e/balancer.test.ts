// The node-local API balancer for real: three sandbox "masters" answer on 6443 with their name, the
// fourth host runs the balancer and connects to the VIP.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { actionScript } from '../../src/host/action.js';
import { installBalancer, resetBalancer } from '../../src/host/balancer.js';
import type { SandboxHost } from '../../src/sandbox/index.js';
import { withSandbox } from '../helpers/sandbox.js';

const vip = '10.103.97.2';

test('iptables balancer spreads VIP connections over healthy masters and resets cleanly', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'berth-lb-e2e-'));
  process.env.BERTH_HOME = home;
  // after-hooks run in registration order: the sandbox must go down before its BERTH_HOME is removed
  const sb = await withSandbox(t, { name: 't-lb-1', hosts: 4 }).catch((err) => {
    rmSync(home, { recursive: true, force: true });
    throw err;
  });
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const knownHosts = join(home, 'known_hosts');
  writeFileSync(
    knownHosts,
    sb.hosts.map((h) => `${h.port === 22 ? h.ip : `[${h.ip}]:${h.port}`} ${h.hostKey}`).join('\n') + '\n',
  );
  const ssh = (h: SandboxHost, script: string): { status: number | null; out: string; err: string } => {
    const r = spawnSync(
      'ssh',
      [
        '-i',
        sb.keyPath,
        '-p',
        String(h.port),
        '-o',
        `UserKnownHostsFile=${knownHosts}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'BatchMode=yes',
        '-o',
        'ConnectTimeout=10',
        `root@${h.ip}`,
        'sh -s',
      ],
      { input: script, encoding: 'utf8', timeout: 120_000 },
    );
    return { status: r.status, out: r.stdout, err: r.stderr };
  };
  const must = (h: SandboxHost, script: string): string => {
    const r = ssh(h, script);
    assert.equal(r.status, 0, `${h.ip}: ${r.err}`);
    return r.out;
  };

  const masters = sb.hosts.slice(0, 3);
  const node = sb.hosts[3];
  const responderPids = new Map<SandboxHost, string>();
  // after-hooks run in registration order, after the sandbox's own; host cleanup must come first
  try {
    for (const [i, m] of masters.entries()) {
      // health probes connect and hang up at once; the responder must survive the resets
      const js = `require('net').createServer((s) => { s.on('error', () => {}); s.end('m${i}\\n'); }).listen(6443)`;
      const pid = must(m, `setsid node -e "${js}" </dev/null >/dev/null 2>&1 & echo $!`).trim();
      responderPids.set(m, pid);
    }

    // the responders are up before the balancer starts: poll each from the node (bounded)
    must(
      node,
      masters
        .map(
          (m) =>
            `i=0; until timeout 1 bash -c 'exec 3<>/dev/tcp/${m.ip}/6443' 2>/dev/null; do i=$((i+1)); [ $i -lt 50 ] || exit 1; sleep 0.2; done`,
        )
        .join('\n'),
    );
    const started = Date.now();
    const lap = (what: string) => console.log(`${what}: ${Date.now() - started} ms`);
    const config = { vip, port: 6443, nodeIp: node.ip, masters: masters.map((m) => m.ip) };
    must(node, actionScript(installBalancer(config)));
    lap('balancer installed');

    // 30 connections to the VIP; each prints the answering master's name or FAIL
    const probe = `for i in $(seq 30); do timeout 1 bash -c 'exec 3<>/dev/tcp/${vip}/6443 && cat <&3' 2>/dev/null || echo FAIL; done`;
    const tally = (): Map<string, number> => {
      const counts = new Map<string, number>();
      for (const line of must(node, probe).split('\n').filter(Boolean))
        counts.set(line, (counts.get(line) ?? 0) + 1);
      return counts;
    };
    let counts = new Map<string, number>();
    for (let i = 0; i < 10 && counts.size !== 3; i++) {
      counts = tally();
      if (counts.size !== 3) await new Promise((r) => setTimeout(r, 1000));
    }
    lap('all three masters answered');
    assert.deepEqual([...counts.keys()].sort(), ['m0', 'm1', 'm2'], `all masters answer: ${[...counts]}`);
    for (const [name, n] of counts) assert.equal(n, 10, `nth spreads evenly (${name}: ${n})`);

    // one master goes away: the chain follows within ~5 s and no connection fails afterwards
    must(masters[1], `kill ${responderPids.get(masters[1])}`);
    responderPids.delete(masters[1]);
    const stoppedAt = Date.now();
    let dnats = 3;
    while (dnats !== 2 && Date.now() - stoppedAt < 10_000) {
      dnats = Number(must(node, 'iptables-save -t nat | grep -c "^-A BERTH-APISERVER .*DNAT" || :').trim());
    }
    const switchMs = Date.now() - stoppedAt;
    console.log(`balancer dropped the stopped master after ${switchMs} ms`);
    assert.ok(switchMs <= 5_000, `chain rewritten within 5 s (took ${switchMs} ms)`);
    counts = tally();
    assert.deepEqual([...counts.keys()].sort(), ['m0', 'm2'], `only live masters answer: ${[...counts]}`);
    assert.equal(counts.get('m0'), 15);

    must(node, actionScript(resetBalancer(vip)));
    lap('reset done');
    const after = must(
      node,
      `iptables-save -t nat | grep -c BERTH || :; ip route show ${vip}; ls /etc/berth /usr/local/lib/berth /run/berth /var/log/berth 2>/dev/null || :; ps -eo args | grep -c '[a]piserver-lb' || :`,
    );
    assert.equal(after, '0\n0\n', 'no chain, hook, route, file or process is left');
  } finally {
    for (const [h, pid] of responderPids) ssh(h, `kill ${pid} 2>/dev/null || :`);
    ssh(node, actionScript(resetBalancer(vip)));
  }
});
