// A real etcd (Debian's /usr/bin/etcd) for one test, on loopback at free ports, serving clients over TLS
// with client-certificate auth as kubeadm's stacked etcd does; the CA and certificates are made by openssl.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CertPair, newCa, signLeaf } from '../stand-ins/k3s/openssl-pki.js';
import { EtcdClient, type EtcdTls } from '../stand-ins/kube-api/etcd-client.js';
import { freePort, onFreePort, PortInUseError, saysPortInUse } from './ports.js';

export interface TestEtcd {
  endpoint: string;
  ca: CertPair;
  /** A client certificate etcd accepts. */
  client: EtcdTls;
  /** The same, as files (kube-apiserver's --etcd-cafile, --etcd-certfile, --etcd-keyfile). */
  files: { ca: string; cert: string; key: string };
  stop(): Promise<void>;
}

/** A real etcd on free loopback ports, started again on others when another process takes one first. */
export function startEtcd(): Promise<TestEtcd> {
  return onFreePort(async (clientPort) => startOn(clientPort, await freePort()));
}

async function startOn(clientPort: number, peerPort: number): Promise<TestEtcd> {
  const dir = mkdtempSync(join(tmpdir(), 't-etcd-'));
  const ca = await newCa('etcd-ca');
  const server = await signLeaf(ca, { cn: 'etcd-server', sans: ['127.0.0.1', 'localhost'], usage: 'both' });
  const client = await signLeaf(ca, { cn: 'kube-apiserver-etcd-client', usage: 'client' });
  const files = { ca: join(dir, 'ca.crt'), cert: join(dir, 'client.crt'), key: join(dir, 'client.key') };
  writeFileSync(files.ca, ca.cert);
  writeFileSync(files.cert, client.cert);
  writeFileSync(files.key, client.key, { mode: 0o600 });
  writeFileSync(join(dir, 'server.crt'), server.cert);
  writeFileSync(join(dir, 'server.key'), server.key, { mode: 0o600 });
  const endpoint = `https://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child: ChildProcess = spawn(
    '/usr/bin/etcd',
    [
      '--name=t',
      `--data-dir=${join(dir, 'data')}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=t=${peer}`,
      '--client-cert-auth=true',
      `--trusted-ca-file=${files.ca}`,
      `--cert-file=${join(dir, 'server.crt')}`,
      `--key-file=${join(dir, 'server.key')}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (c: Buffer) => {
    log = (log + c.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const tls = { ca: ca.cert, cert: client.cert, key: client.key };
  const probe = new EtcdClient([endpoint], tls, 1000);
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) break;
    try {
      await probe.rangePrefix('/');
      return { endpoint, ca, client: tls, files, stop };
    } catch {
      await sleep(100);
    }
  }
  await stop();
  if (saysPortInUse(log)) throw new PortInUseError(clientPort, log.trim().split('\n').pop() ?? '');
  throw new Error(`etcd did not start on ${endpoint} within 20 s:\n${log}`);
}
