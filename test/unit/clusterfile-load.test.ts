// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write ${VAR} references literally
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  envMap,
  loadClusterfile,
  masters,
  nodes,
  parseClusterfile,
  registryHosts,
  resolveHosts,
} from '../../src/clusterfile/index.js';
import { InputError, UsageError } from '../../src/util/errors.js';
import { lineContaining, sampleClusterfile } from '../helpers/clusterfile-sample.js';

const environment = { T_CF_PASS: 'pw-123456', T_CF_PK: 'phrase-9' };

function parse(text: string, options: Parameters<typeof parseClusterfile>[2] = {}) {
  return parseClusterfile(text, 'Clusterfile', { environment, ...options });
}

/** Asserts that parsing `text` fails with exactly `message` (an InputError unless another class is given). */
function rejects(
  text: string,
  message: string,
  options = {},
  type: new (...a: never[]) => Error = InputError,
) {
  assert.throws(
    () => parse(text, options),
    (err: Error) => {
      assert.ok(err instanceof type, `${err.constructor.name}: ${err.message}`);
      assert.equal(err.message, message);
      assert.ok(!err.message.includes('\n'), 'one line');
      return true;
    },
  );
}

test('a realistic sealos Clusterfile loads with ranges expanded and documents kept', () => {
  const loaded = parse(sampleClusterfile);
  const c = loaded.cluster;
  assert.equal(c.metadata.name, 'prod-1');
  assert.deepEqual(c.spec.image, [
    'labring/kubernetes:v1.27.7',
    'labring/helm:v3.12.0',
    'labring/calico:v3.24.1',
  ]);
  assert.deepEqual(c.spec.hosts[0]?.ips, ['192.168.0.2', '192.168.0.3', '192.168.0.4']);
  assert.deepEqual(c.spec.hosts[1]?.ips, ['192.168.0.10:2222', '192.168.0.11']);
  assert.equal(c.spec.ssh.passwd, '${T_CF_PASS}', 'references are kept in the model');
  assert.deepEqual(c.spec.command, ['kubeadm init --skip-phases=addon/kube-proxy']);
  assert.equal(c.status?.phase, 'ClusterSuccess');
  assert.equal((c.status as Record<string, unknown>).futureField, 'kept', 'status tolerates unknown keys');
  assert.equal(loaded.configs.length, 1);
  assert.equal(loaded.configs[0]?.spec.strategy, 'merge');
  assert.equal(loaded.configs[0]?.spec.match, 'labring/calico:v3.24.1');
  assert.deepEqual(
    loaded.distributionDocs.map((d) => [d.kind, d.distribution, d.line]),
    [
      ['InitConfiguration', 'kubeadm', lineContaining(sampleClusterfile, 'kind: InitConfiguration') - 1],
      [
        'ClusterConfiguration',
        'kubeadm',
        lineContaining(sampleClusterfile, 'kind: ClusterConfiguration') - 1,
      ],
    ],
  );
  assert.deepEqual(loaded.distributionDocs[1]?.object.networking, { podSubnet: '100.64.0.0/10' });
});

test('hosts resolve with merged ssh settings, env and roles', () => {
  const { cluster } = parse(sampleClusterfile);
  const hosts = resolveHosts(cluster, environment);
  assert.equal(hosts.length, 5);
  assert.deepEqual(hosts[0], {
    ip: '192.168.0.2',
    port: 22,
    roles: ['master', 'amd64'],
    env: { criData: '/var/lib/containerd', registryDomain: 'sealos.hub' },
    ssh: { user: 'root', password: 'pw-123456' },
  });
  assert.deepEqual(hosts[3], {
    ip: '192.168.0.10',
    port: 2222,
    roles: ['node', 'amd64'],
    env: { criData: '/data/containerd', registryDomain: 'sealos.hub', NIC: 'eth1' },
    ssh: {
      user: 'deploy',
      password: 'pw-123456',
      privateKeyPath: '/root/.ssh/id_ed25519',
      passphrase: 'phrase-9',
    },
  });
  assert.equal(hosts[4]?.port, 22);
  assert.deepEqual(
    masters(cluster, environment).map((h) => h.ip),
    ['192.168.0.2', '192.168.0.3', '192.168.0.4'],
  );
  assert.deepEqual(
    nodes(cluster, environment).map((h) => h.ip),
    ['192.168.0.10', '192.168.0.11'],
  );
  assert.deepEqual(
    registryHosts(cluster, environment).map((h) => h.ip),
    ['192.168.0.2'],
    'the first master by default',
  );
  assert.deepEqual(envMap(cluster, undefined, environment), {
    criData: '/var/lib/containerd',
    registryDomain: 'sealos.hub',
  });
  assert.equal(envMap(cluster, '192.168.0.11', environment).criData, '/data/containerd', 'host env wins');
});

test('a host with role registry is the registry host', () => {
  const text = sampleClusterfile.replace('roles: [node, amd64]', 'roles: [node, registry]');
  const { cluster } = parse(text);
  assert.deepEqual(
    registryHosts(cluster, environment).map((h) => `${h.ip}:${h.port}`),
    ['192.168.0.10:2222', '192.168.0.11:22'],
  );
});

test('each kind of error names file, line and field', () => {
  const s = sampleClusterfile;
  const at = (needle: string) => lineContaining(s, needle);
  rejects(
    s.replace('- 192.168.0.11', '- 192.168.0.300'),
    `Clusterfile:${at('- 192.168.0.11')}: spec.hosts[1].ips[1]: "192.168.0.300" is not an IP address`,
  );
  rejects(
    s.replace('  command: [', '  comand: ['),
    `Clusterfile:${at('  command: [')}: spec.comand: unknown field (misspelt?)`,
  );
  rejects(
    s.replace('roles: [master, amd64]', 'roles: [mastr, amd64]'),
    `Clusterfile:${at('roles: [master')}: spec.hosts[0].roles[0]: "mastr" is not one of: master, node, registry, amd64, arm64`,
  );
  rejects(
    s.replace('    port: 22', '    port: 70000'),
    `Clusterfile:${at('    port: 22')}: spec.ssh.port: must be a port number 1-65535`,
  );
  rejects(
    s.replace('- 192.168.0.10:2222', '- 192.168.0.10:0'),
    `Clusterfile:${at('192.168.0.10:2222')}: spec.hosts[1].ips[0]: "192.168.0.10:0" has port 0, outside 1-65535`,
  );
  rejects(
    s.replace('roles: [master, amd64]', 'roles: [node, amd64]'),
    `Clusterfile:${at('  hosts:')}: spec.hosts: needs at least one host with role master`,
  );
  rejects(
    s.replace('- 192.168.0.11', '- 192.168.0.3'),
    `Clusterfile:${at('- 192.168.0.11')}: spec.hosts[1].ips[1]: IP 192.168.0.3 is already listed at spec.hosts[0].ips[0]; an IP appears once`,
  );
  rejects(
    s.replace('    passwd: ${T_CF_PASS}', '    passwd: [a, b]'),
    `Clusterfile:${at('passwd: ${T_CF_PASS}')}: spec.ssh.passwd: must be a string, not a list`,
  );
  rejects(
    s.replace('    - registryDomain=sealos.hub', '    - registryDomain'),
    `Clusterfile:${at('registryDomain=')}: spec.env[1]: must be KEY=VALUE with a non-empty KEY`,
  );
  rejects(
    s.replace('  name: prod-1', '  name: Prod_1'),
    `Clusterfile:${at('name: prod-1')}: metadata.name: must be a lowercase DNS label: a-z, 0-9 and "-", at most 63 characters`,
  );
  rejects(
    s.replace('  strategy: merge', '  strategy: patch'),
    `Clusterfile:${at('strategy: merge')}: spec.strategy: "patch" is not one of: merge, insert, append, override`,
  );
  rejects(
    s.replace('  path: manifests/calico.yaml', '  path: ../../etc/passwd'),
    `Clusterfile:${at('path: manifests')}: spec.path: "../../etc/passwd" must be a path inside the image root, like etc/kubeadm.yml`,
  );
  rejects(
    s.replace('kind: ClusterConfiguration', 'kind: ClusterConfig'),
    `Clusterfile:${at('kind: ClusterConfiguration') - 1}: apiVersion: a ClusterConfig document needs apiVersion k0s.k0sproject.io/<version>`,
  );
  rejects(
    s.replace('kind: InitConfiguration', 'kind: InitConfig'),
    `Clusterfile:${at('kind: InitConfiguration')}: kind: unknown kind "InitConfig"; expected one of Cluster, Config, InitConfiguration, ClusterConfiguration, JoinConfiguration, KubeletConfiguration, KubeProxyConfiguration, K3sConfig, ClusterConfig`,
  );
  rejects(s.replace(/ {2}image:\n( {4}- .*\n)+/, ''), `Clusterfile:${at('spec:')}: spec.image: is required`);
  rejects(
    s.replace('- labring/helm:v3.12.0', '- Labring/Helm'),
    `Clusterfile:${at('labring/helm')}: spec.image[1]: invalid image reference "Labring/Helm": repository path component "Labring" must be lowercase letters, digits, . _ -`,
  );
});

test('several problems: each is named in one line, the first in the file first', () => {
  const text = sampleClusterfile
    .replace('    port: 22', '    port: 0')
    .replace('- 192.168.0.11', '- 192.168.0.300');
  assert.throws(() => parse(text), {
    message: `Clusterfile:${lineContaining(sampleClusterfile, '    port: 22')}: spec.ssh.port: must be a port number 1-65535; also line ${lineContaining(sampleClusterfile, '- 192.168.0.11')} spec.hosts[1].ips[1]: "192.168.0.300" is not an IP address`,
  });
});

test('a misspelt top-level field is named first, before the field it leaves missing', () => {
  const text = sampleClusterfile.replace('  hosts:', '  hostz:');
  assert.throws(() => parse(text), {
    message: `Clusterfile:${lineContaining(text, '  hostz:')}: spec.hostz: unknown field (misspelt?); also line ${lineContaining(text, 'spec:')} spec.hosts: is required`,
  });
});

test('past a few problems the rest are counted', () => {
  const text = sampleClusterfile
    .replace('  hosts:', '  hostz:')
    .replace('  env:\n    - criData', '  envv:\n    - criData')
    .replace('  command:', '  comand:')
    .replace('    port: 22', '    port: 0');
  assert.throws(
    () => parse(text),
    (err: Error) => {
      assert.match(
        err.message,
        /^Clusterfile:\d+: spec\.hostz: unknown field \(misspelt\?\); also line \d+ spec\.envv: unknown field/,
      );
      assert.match(err.message, /; line \d+ spec\.hosts: is required \(and 1 more problem\)$/);
      return true;
    },
  );
});

test('malformed YAML gives one line with file:line', () => {
  const text = sampleClusterfile.replace(
    '    - ips: [192.168.0.2-192.168.0.4]',
    '    - ips: [192.168.0.2-192.168.0.4',
  );
  assert.throws(
    () => parse(text),
    (err: Error) => {
      assert.ok(err instanceof InputError);
      assert.match(err.message, /^Clusterfile:\d+: YAML syntax: \S/);
      assert.ok(!err.message.includes('\n'));
      return true;
    },
  );
  rejects('a: 1\n\tb: 2\n', 'Clusterfile:2: YAML syntax: Tabs are not allowed as indentation');
  rejects('kind: Cluster\nspec: {}\nkind: Config\n', 'Clusterfile:3: YAML syntax: Map keys must be unique');
  assert.throws(() => parse(''), {
    message: 'Clusterfile: empty; a Clusterfile needs a kind: Cluster document',
  });
  assert.throws(() => parse('kind: Config\napiVersion: apps.sealos.io/v1beta1\nspec: {path: a, data: b}\n'), {
    message: 'Clusterfile: no kind: Cluster document; a Clusterfile needs one',
  });
});

test('${VAR} references resolve from the environment; an unset one is named with its field', () => {
  rejects(
    sampleClusterfile,
    `Clusterfile:${lineContaining(sampleClusterfile, 'passwd: ${T_CF_PASS}')}: spec.ssh.passwd: \${T_CF_PASS} is not set in the environment; export T_CF_PASS or write the value`,
    { environment: { T_CF_PK: 'x' } },
  );
  rejects(
    sampleClusterfile.replace('NIC=eth1', 'NIC=${T_CF_NIC}'),
    `Clusterfile:${lineContaining(sampleClusterfile, 'NIC=eth1')}: spec.hosts[1].env[0]: \${T_CF_NIC} is not set in the environment; export T_CF_NIC or write the value`,
  );
  const { cluster } = parse(sampleClusterfile.replace('NIC=eth1', 'NIC=${T_CF_NIC}'), {
    environment: { ...environment, T_CF_NIC: 'ens5' },
  });
  assert.equal(envMap(cluster, '192.168.0.10', { ...environment, T_CF_NIC: 'ens5' }).NIC, 'ens5');
  // Loading without the check (read-only commands) defers the error to the moment the value is used.
  const lax = parse(sampleClusterfile, { environment: {}, checkVariables: false }).cluster;
  assert.throws(() => resolveHosts(lax, {}), {
    message:
      'spec.ssh.passwd: ${T_CF_PASS} is not set in the environment; export T_CF_PASS or write the value',
  });
});

test('--set overrides fields by path and -e appends env (last wins)', () => {
  const { cluster } = parse(sampleClusterfile, {
    set: ['spec.ssh.passwd=new:pass word', 'spec.hosts[0].ips[0]=10.0.0.2-10.0.0.3', 'spec.ssh.port=2200'],
    env: ['registryDomain=hub.local', 'EXTRA=1'],
  });
  assert.equal(cluster.spec.ssh.passwd, 'new:pass word');
  assert.equal(cluster.spec.ssh.port, 2200);
  assert.deepEqual(cluster.spec.hosts[0]?.ips, ['10.0.0.2', '10.0.0.3']);
  assert.equal(envMap(cluster, undefined, environment).registryDomain, 'hub.local');
  assert.equal(envMap(cluster, undefined, environment).EXTRA, '1');
  rejects(
    sampleClusterfile,
    '--set spec.ssh.port: must be a port number 1-65535',
    { set: ['spec.ssh.port=0'] },
    UsageError,
  );
  rejects(
    sampleClusterfile,
    '--set spec.sssh: unknown field (misspelt?)',
    { set: ['spec.sssh=1'] },
    UsageError,
  );
  rejects(
    sampleClusterfile,
    '--set spec.hosts[1].ips[1]: "1.2.3" is not an IP address',
    { set: ['spec.hosts[1].ips[1]=1.2.3'] },
    UsageError,
  );
  rejects(
    sampleClusterfile,
    '--set spec..ssh: not a field path; write it like spec.hosts[0].ips[1]',
    { set: ['spec..ssh=1'] },
    UsageError,
  );
  rejects(sampleClusterfile, '-e "NOVALUE": expected KEY=VALUE', { env: ['NOVALUE'] }, UsageError);
  rejects(
    sampleClusterfile,
    '-e X: ${T_CF_UNSET} is not set in the environment; export T_CF_UNSET or write the value',
    { env: ['X=${T_CF_UNSET}'] },
    UsageError,
  );
});

test('loadClusterfile reads a file and names a missing one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 't-cf-load-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'Clusterfile');
  writeFileSync(file, sampleClusterfile.replace('- 192.168.0.11', '- 192.168.0.300'));
  await assert.rejects(loadClusterfile(file, { environment }), {
    message: `${file}:${lineContaining(sampleClusterfile, '- 192.168.0.11')}: spec.hosts[1].ips[1]: "192.168.0.300" is not an IP address`,
  });
  await assert.rejects(loadClusterfile(join(dir, 'nope')), {
    name: 'InputError',
    message: /no such Clusterfile/,
  });
});

test('K3sConfig and k0s ClusterConfig documents are kept for their drivers', () => {
  const text = `${sampleClusterfile}---
apiVersion: apps.berth.io/v1alpha1
kind: K3sConfig
spec:
  server: { cluster-cidr: 10.42.0.0/16, disable: [traefik] }
  agent: { node-label: [disk=ssd] }
---
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata: { name: k0s }
spec: { network: { provider: calico } }
`;
  const { distributionDocs } = parse(text);
  assert.deepEqual(
    distributionDocs.map((d) => `${d.distribution}/${d.kind}`),
    ['kubeadm/InitConfiguration', 'kubeadm/ClusterConfiguration', 'k3s/K3sConfig', 'k0s/ClusterConfig'],
  );
  assert.deepEqual((distributionDocs[2]!.object.spec as Record<string, unknown>).server, {
    'cluster-cidr': '10.42.0.0/16',
    disable: ['traefik'],
  });
  rejects(
    text.replace('  agent: {', '  agnt: {'),
    `Clusterfile:${lineContaining(text, '  agent: {')}: spec.agnt: unknown field (misspelt?)`,
  );
});

test('a wrongly typed credential is reported without its value; numbers elsewhere are quoted back', () => {
  const line = lineContaining(sampleClusterfile, 'passwd: ${T_CF_PASS}');
  rejects(
    sampleClusterfile.replace('passwd: ${T_CF_PASS}', 'passwd: 98765432'),
    `Clusterfile:${line}: spec.ssh.passwd: must be a string; put the value in quotes`,
  );
  rejects(
    sampleClusterfile.replace('user: root', 'user: 1000'),
    `Clusterfile:${lineContaining(sampleClusterfile, 'user: root')}: spec.ssh.user: must be a string; put the value in quotes ("1000")`,
  );
});

test('a Clusterfile as sealos itself writes it loads', () => {
  const text = `apiVersion: apps.sealos.io/v1beta1
kind: Cluster
metadata:
  creationTimestamp: null
  name: default
spec:
  hosts:
  - ips:
    - 172.16.0.5:22
    roles:
    - master
    - amd64
  image:
  - labring/kubernetes:v1.25.0
  ssh:
    passwd: ""
    pk: /root/.ssh/id_rsa
    port: 22
status: {}
`;
  const { cluster } = parse(text);
  assert.equal(cluster.metadata.name, 'default');
  assert.deepEqual(resolveHosts(cluster, {})[0], {
    ip: '172.16.0.5',
    port: 22,
    roles: ['master', 'amd64'],
    env: {},
    ssh: { user: 'root', privateKeyPath: '/root/.ssh/id_rsa' },
  });
  assert.equal(parse(text.replace(/metadata:\n.*\n.*\n/, '')).cluster.metadata.name, 'default');
});

test('distribution documents keep the line of each field, for the drivers to name', () => {
  const { distributionDocs } = parse(sampleClusterfile);
  const init = distributionDocs[0]!;
  assert.equal(
    init.fieldLines?.['nodeRegistration.criSocket'],
    lineContaining(sampleClusterfile, 'criSocket:'),
  );
  assert.equal(init.fieldLines?.localAPIEndpoint, lineContaining(sampleClusterfile, 'localAPIEndpoint:'));
  const text = `${sampleClusterfile}---
apiVersion: kubeadm.k8s.io/v1beta3
kind: JoinConfiguration
discovery:
  bootstrapToken:
    caCertHashes:
      - sha256:aa
`;
  const join = parse(text).distributionDocs[2]!;
  assert.equal(
    join.fieldLines?.['discovery.bootstrapToken.caCertHashes[0]'],
    lineContaining(text, '- sha256:aa'),
  );
});
