// The subject alternative names of the API server's and etcd's serving certificates. The API server's
// carry every master, the VIP and the endpoint name on every master, so that a client reaching any master
// through the balancer, the VIP or the endpoint name finds the name it dialled.

import { isIP } from 'node:net';
import type { AltNames } from './certificate.js';
import type { MasterIdentity, PkiNames } from './names.js';

function collect(values: string[]): AltNames {
  const dns: string[] = [];
  const ips: string[] = [];
  for (const v of values) {
    const list = isIP(v) ? ips : dns;
    if (v && !list.includes(v)) list.push(v);
  }
  return { dns, ips };
}

/** kubeadm's apiserver names (node name, kubernetes.default.svc.*, service IP, advertise address) and berth's. */
export function apiServerAltNames(names: PkiNames, master: MasterIdentity): AltNames {
  return collect([
    master.hostname,
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    `kubernetes.default.svc.${names.dnsDomain}`,
    'localhost',
    names.endpoint,
    ...names.masters.map((m) => m.hostname),
    names.apiServiceIp,
    master.ip,
    '127.0.0.1',
    names.vip,
    ...names.masters.map((m) => m.ip),
    ...names.certSANs,
  ]);
}

/** etcd's server and peer names as kubeadm makes them: node name, localhost, advertise address, loopbacks. */
export function etcdAltNames(master: MasterIdentity): AltNames {
  return collect([master.hostname, 'localhost', master.ip, '127.0.0.1', '::1']);
}
