// k0s's bundled etcd: <data-dir>/bin/etcd (here the machine's /usr/bin/etcd, linked there) with its data in
// <data-dir>/etcd, clients on https://127.0.0.1:2379 with the etcd CA's client certificates, peers on
// https://<spec.storage.etcd.peerAddress>:2380. A controller that joins has itself added as a member by
// the controller it joins (through the k0s API) and starts with --initial-cluster-state=existing.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { EtcdClient, type EtcdMember } from '../kubeadm/etcd-members.js';
import type { ClusterSettings } from './cluster-config.js';
import { Component } from './component-supervisor.js';
import type { K0sPaths } from './k0s-paths.js';

export const ETCD_CLIENT_URL = 'https://127.0.0.1:2379';
export const peerUrl = (addr: string) => `https://${addr.includes(':') ? `[${addr}]` : addr}:2380`;
export const etcdMemberName = () => hostname().toLowerCase();

export function localEtcdClient(p: K0sPaths): EtcdClient {
  return new EtcdClient([ETCD_CLIENT_URL], {
    ca: readFileSync(join(p.etcdPki, 'ca.crt'), 'utf8'),
    cert: readFileSync(join(p.pki, 'apiserver-etcd-client.crt'), 'utf8'),
    key: readFileSync(join(p.pki, 'apiserver-etcd-client.key'), 'utf8'),
  });
}

/** `--initial-cluster` and state: the member list a join got back, or this member alone. */
export interface EtcdJoin {
  initialCluster: string[];
}

export function etcdComponent(p: K0sPaths, c: ClusterSettings, join_?: EtcdJoin): Component {
  const name = etcdMemberName();
  const peer = peerUrl(c.peerAddress);
  const args: Record<string, string> = {
    name,
    'data-dir': p.etcdData,
    'listen-client-urls': ETCD_CLIENT_URL,
    'advertise-client-urls': ETCD_CLIENT_URL,
    'client-cert-auth': 'true',
    'listen-peer-urls': peer,
    'initial-advertise-peer-urls': peer,
    'initial-cluster': join_ ? join_.initialCluster.join(',') : `${name}=${peer}`,
    'initial-cluster-state': join_ ? 'existing' : 'new',
    'cert-file': join(p.etcdPki, 'server.crt'),
    'key-file': join(p.etcdPki, 'server.key'),
    'trusted-ca-file': join(p.etcdPki, 'ca.crt'),
    'peer-cert-file': join(p.etcdPki, 'peer.crt'),
    'peer-key-file': join(p.etcdPki, 'peer.key'),
    'peer-trusted-ca-file': join(p.etcdPki, 'ca.crt'),
    'peer-client-cert-auth': 'true',
    'enable-pprof': 'false',
    ...c.etcdExtraArgs,
  };
  return new Component(
    'etcd',
    join(p.bin, 'etcd'),
    Object.entries(args).map(([k, v]) => `--${k}=${v}`),
  );
}

/**
 * What the first controller does for a joining one: adds it (unless a member has its peer URL already, as
 * after a failed start) and answers the `--initial-cluster` it must start with.
 */
export async function addEtcdMember(
  client: EtcdClient,
  name: string,
  peerAddress: string,
): Promise<string[]> {
  const url = peerUrl(peerAddress);
  let members: EtcdMember[] = await client.list();
  if (!members.some((m) => m.peerURLs.includes(url))) members = await client.add(url);
  return members.map((m) => `${m.peerURLs.includes(url) ? name : m.name}=${m.peerURLs[0]}`);
}
