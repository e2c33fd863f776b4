// Files a k3s agent (and the agent inside every server) keeps under <data-dir>/agent and /etc/rancher/node.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CertPair } from './openssl-pki.js';
import { nodeConfigDir } from './standin-paths.js';

export function ensureDir(path: string, mode = 0o755): void {
  mkdirSync(path, { recursive: true, mode });
}

export function writeFileMode(path: string, text: string, mode: number): void {
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
}

/** The node password the server checks on every registration; kept across reinstalls like k3s does. */
export function nodePassword(): string {
  const dir = nodeConfigDir();
  const file = join(dir, 'password');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  ensureDir(dir, 0o700);
  const pw = randomBytes(16).toString('hex');
  writeFileMode(file, `${pw}\n`, 0o600);
  return pw;
}

/** --with-node-id: a random suffix kept in /etc/rancher/node/id. */
export function nodeId(): string {
  const file = join(nodeConfigDir(), 'id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  ensureDir(nodeConfigDir(), 0o700);
  const id = randomBytes(4).toString('hex');
  writeFileMode(file, `${id}\n`, 0o600);
  return id;
}

export function kubeconfigYaml(server: string, caPem: string, client: CertPair): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${b64(caPem)}`,
    `    server: ${server}`,
    '  name: default',
    'contexts:',
    '- context:',
    '    cluster: default',
    '    user: default',
    '  name: default',
    'current-context: default',
    'kind: Config',
    'preferences: {}',
    'users:',
    '- name: default',
    '  user:',
    `    client-certificate-data: ${b64(client.cert)}`,
    `    client-key-data: ${b64(client.key)}`,
    '',
  ].join('\n');
}

export interface AgentMaterial {
  serverUrl: string;
  serverCa: string;
  clientCa: string;
  clientKubelet: CertPair;
  servingKubelet: CertPair;
  /** The CRI socket crictl.yaml names. */
  runtimeEndpoint: string;
}

export function writeAgentFiles(dataDir: string, m: AgentMaterial): void {
  const agent = join(dataDir, 'agent');
  for (const d of [
    'pod-manifests',
    'images',
    'etc/containerd',
    'etc/cni/net.d',
    'etc/flannel',
    'containerd',
  ]) {
    ensureDir(join(agent, d));
  }
  writeFileMode(join(agent, 'server-ca.crt'), m.serverCa, 0o644);
  writeFileMode(join(agent, 'client-ca.crt'), m.clientCa, 0o644);
  writeFileMode(join(agent, 'client-kubelet.crt'), m.clientKubelet.cert, 0o644);
  writeFileMode(join(agent, 'client-kubelet.key'), m.clientKubelet.key, 0o600);
  writeFileMode(join(agent, 'serving-kubelet.crt'), m.servingKubelet.cert, 0o644);
  writeFileMode(join(agent, 'serving-kubelet.key'), m.servingKubelet.key, 0o600);
  writeFileMode(
    join(agent, 'kubelet.kubeconfig'),
    kubeconfigYaml(m.serverUrl, m.serverCa, m.clientKubelet),
    0o600,
  );
  writeFileMode(join(agent, 'etc', 'crictl.yaml'), `runtime-endpoint: ${m.runtimeEndpoint}\n`, 0o644);
}
