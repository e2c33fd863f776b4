// The etcd certificates berth makes, used by the real etcd (Debian's etcd-server) as kubeadm's static pod
// manifest uses them: two members that must reach each other over peer TLS to form a quorum, a client
// port that takes only clients of the etcd CA, and kubeadm's healthcheck client asking /health.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeClusterCas, masterPkiFiles, type PkiNames } from '../../src/runtime/kubeadm/pki/index.js';
import { freePort, onFreePort, PortInUseError, saysPortInUse } from '../helpers/ports.js';

const etcdBin = '/usr/bin/etcd';

async function stopAll(procs: ChildProcess[]): Promise<void> {
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : null)));
}

function get(
  port: number,
  path: string,
  tls: { ca: string; cert: string; key: string },
  method = 'GET',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method, ...tls, servername: 'localhost', timeout: 5_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}

test('two real etcd members form a cluster over peer TLS and answer the healthcheck client', {
  skip: !existsSync(etcdBin) && `${etcdBin} is not installed (Debian package etcd-server)`,
}, async () => {
  const now = new Date();
  // ECDSA keys: what is checked here does not depend on the kind of key, and they are made at once
  const cas = await makeClusterCas(now, 'ECDSA-P256');
  const masters = [
    { ip: '10.0.0.11', hostname: 'm0' },
    { ip: '10.0.0.12', hostname: 'm1' },
  ];
  const names: PkiNames = {
    endpoint: 'apiserver.cluster.local',
    vip: '10.103.97.2',
    apiServiceIp: '10.96.0.1',
    dnsDomain: 'cluster.local',
    certSANs: [],
    masters,
  };
  const dir = await mkdtemp(join(tmpdir(), 'berth-pki-etcd-'));
  const procs: ChildProcess[] = [];
  const logs: string[] = ['', ''];
  try {
    const files = await Promise.all(masters.map((m) => masterPkiFiles(cas, names, m, now)));
    for (const [i, m] of masters.entries()) {
      const pki = join(dir, m.hostname, 'pki');
      for (const [rel, text] of Object.entries(files[i] ?? {})) {
        await mkdir(dirname(join(pki, rel)), { recursive: true });
        await writeFile(join(pki, rel), text, { mode: 0o600 });
      }
    }
    const files0 = files[0] ?? {};
    const health = {
      ca: files0['etcd/ca.crt'] ?? '',
      cert: files0['etcd/healthcheck-client.crt'] ?? '',
      key: files0['etcd/healthcheck-client.key'] ?? '',
    };
    // four ports: when another process takes one before its member binds it, both start again on new ones
    const { c0, c1, last } = await onFreePort(async (c0) => {
      const [p0, c1, p1] = [await freePort(), await freePort(), await freePort()];
      const initial = `m0=https://127.0.0.1:${p0},m1=https://127.0.0.1:${p1}`;
      const started: ChildProcess[] = [];
      for (const [i, m] of masters.entries()) {
        const pki = join(dir, m.hostname, 'pki');
        const [client, peer] = i === 0 ? [c0, p0] : [c1, p1];
        logs[i] = '';
        await rm(join(dir, m.hostname, 'data'), { recursive: true, force: true });
        const p = spawn(
          etcdBin,
          [
            `--name=${m.hostname}`,
            `--data-dir=${join(dir, m.hostname, 'data')}`,
            `--listen-client-urls=https://127.0.0.1:${client}`,
            `--advertise-client-urls=https://127.0.0.1:${client}`,
            `--listen-peer-urls=https://127.0.0.1:${peer}`,
            `--initial-advertise-peer-urls=https://127.0.0.1:${peer}`,
            `--initial-cluster=${initial}`,
            '--initial-cluster-state=new',
            '--initial-cluster-token=berth-pki-test',
            `--cert-file=${pki}/etcd/server.crt`,
            `--key-file=${pki}/etcd/server.key`,
            `--trusted-ca-file=${pki}/etcd/ca.crt`,
            '--client-cert-auth=true',
            `--peer-cert-file=${pki}/etcd/peer.crt`,
            `--peer-key-file=${pki}/etcd/peer.key`,
            `--peer-trusted-ca-file=${pki}/etcd/ca.crt`,
            '--peer-client-cert-auth=true',
          ],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
        p.stderr?.setEncoding('utf8');
        p.stderr?.on('data', (c: string) => {
          logs[i] = `${logs[i]}${c}`.slice(-4000);
        });
        procs.push(p);
        started.push(p);
      }
      // quorum needs both members, which only happens once their peer TLS works both ways
      let last = '';
      const deadline = Date.now() + 30_000;
      for (let i = 0; i < 150 && Date.now() < deadline; i++) {
        if (started.some((p) => p.exitCode !== null) && logs.some(saysPortInUse)) {
          await stopAll(started);
          throw new PortInUseError(c0, logs.find(saysPortInUse)?.trim().split('\n').pop() ?? '');
        }
        const r = await get(c0, '/health', health).catch((err: Error) => ({ status: 0, body: err.message }));
        last = `${r.status} ${r.body}`;
        if (r.status === 200 && /"health":\s*"true"/.test(r.body)) break;
        await sleep(200);
      }
      return { c0, c1, last };
    });
    assert.match(last, /^200 .*"health":\s*"true"/, `${last}\n${logs.join('\n---\n')}`);
    const members = await get(c1, '/v3/cluster/member/list', health, 'POST');
    assert.equal((JSON.parse(members.body) as { members: unknown[] }).members.length, 2, members.body);
    // the client port takes only clients whose certificate the etcd CA signed
    await assert.rejects(
      get(c0, '/health', {
        ca: health.ca,
        cert: files0['front-proxy-client.crt'] ?? '',
        key: files0['front-proxy-client.key'] ?? '',
      }),
    );
  } finally {
    await stopAll(procs);
    await rm(dir, { recursive: true, force: true });
  }
});
