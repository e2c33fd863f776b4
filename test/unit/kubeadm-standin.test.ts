// The kubeadm stand-in's refusals (flags, --config mixing, config fields per API version) in kubeadm's
// words, its bootstrap-token Secrets, the bootstrap signer's cluster-info signatures and a joining node's
// token and CA-hash checks.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { newCa } from '../stand-ins/k3s/openssl-pki.js';
import { parseYamlSubset } from '../stand-ins/k3s/yaml-subset.js';
import {
  caCertHash,
  detachedJws,
  generateToken,
  isExpired,
  jwsKey,
  signedClusterInfoData,
  TOKEN_RE,
  tokenFromSecret,
  tokenSecret,
  verifyDetachedJws,
} from '../stand-ins/kube-api/bootstrap-tokens.js';
import { clusterInfoKubeconfig } from '../stand-ins/kubeadm/cluster-objects.js';
import { FlagError, parseDuration, parseFlags } from '../stand-ins/kubeadm/cobra-flags.js';
import { commandFlags, mixedWithConfig } from '../stand-ins/kubeadm/command-flags.js';
import { KubeadmError, loadConfigDocs } from '../stand-ins/kubeadm/config-load.js';
import { DiscoveryRetry, validateClusterInfo } from '../stand-ins/kubeadm/join-discovery.js';
import { toYaml } from '../stand-ins/kubeadm/yaml-write.js';

const flagsOf = (path: string, minor: number) => {
  const specs = commandFlags(path, minor);
  assert.ok(specs, path);
  return specs;
};

describe('kubeadm stand-in: command line', () => {
  test('an unknown flag is refused with pflag wording', () => {
    assert.throws(() => parseFlags(['--config', 'a.yaml', '--bogus'], flagsOf('init', 29)), {
      message: 'unknown flag: --bogus',
    });
    assert.throws(() => parseFlags(['-x'], flagsOf('reset', 29)), {
      message: "unknown shorthand flag: 'x' in -x",
    });
    assert.throws(() => parseFlags(['--config'], flagsOf('join', 29)), {
      message: 'flag needs an argument: --config',
    });
    assert.throws(() => parseFlags(['--ttl', '3days'], flagsOf('token create', 29)), {
      message: 'invalid argument "3days" for "--ttl" flag: time: invalid duration "3days"',
    });
  });

  test('flags parse as pflag does: = or separate values, bool shorthands, slices, -v', () => {
    const p = parseFlags(
      [
        '--config=/k.yaml',
        '--upload-certs',
        '--skip-phases',
        'addon/kube-proxy,addon/coredns',
        '-v',
        '5',
        'x',
      ],
      flagsOf('init', 29),
    );
    assert.equal(p.values.get('config'), '/k.yaml');
    assert.equal(p.values.get('upload-certs'), true);
    assert.deepEqual(p.values.get('skip-phases'), ['addon/kube-proxy', 'addon/coredns']);
    assert.equal(p.values.get('v'), '5');
    assert.deepEqual(p.positional, ['x']);
    assert.equal(parseFlags(['-f'], flagsOf('reset', 29)).values.get('force'), true);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('0'), 0);
  });

  test('flags follow the kubeadm minor: reset --config from 1.28, check-expiration -o from 1.30', () => {
    assert.throws(() => parseFlags(['--config', 'r.yaml'], flagsOf('reset', 27)), FlagError);
    assert.doesNotThrow(() => parseFlags(['--config', 'r.yaml'], flagsOf('reset', 28)));
    assert.throws(() => parseFlags(['-o', 'json'], flagsOf('certs check-expiration', 29)), FlagError);
    assert.doesNotThrow(() => parseFlags(['-o', 'json'], flagsOf('certs check-expiration', 30)));
    assert.equal(commandFlags('upgrade diff', 29), undefined);
  });

  test('per-field flags next to --config are refused; skip-*, -v and the allowed ones are not', () => {
    assert.deepEqual(
      mixedWithConfig(['config', 'token', 'pod-network-cidr', 'v', 'skip-phases', 'upload-certs']),
      ['pod-network-cidr', 'token'],
    );
    assert.deepEqual(mixedWithConfig(['token', 'pod-network-cidr']), []);
  });
});

const v1beta3Cluster = `apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.29.3
apiServer:
  timeoutForControlPlane: 4m0s
  extraArgs:
    audit-log-maxage: "30"
networking:
  podSubnet: 100.64.0.0/10
`;

describe('kubeadm stand-in: config documents', () => {
  test('a field not in the apiVersion fails with the strict decoder path', () => {
    assert.throws(() => loadConfigDocs(`${v1beta3Cluster}  podCIDR: 10.0.0.0/8\n`, 29), {
      message:
        'error unmarshaling configuration schema.GroupVersionKind{Group:"kubeadm.k8s.io", Version:"v1beta3", Kind:"ClusterConfiguration"}: strict decoding error: unknown field "networking.podCIDR"',
    });
    const listed = `apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
apiServer:
  extraVolumes:
  - name: a
    hostPath: /a
    mountPath: /a
    mode: rw
metadata:
  name: x
`;
    assert.throws(
      () => loadConfigDocs(listed, 29),
      /unknown field "apiServer\.extraVolumes\[0\]\.mode", unknown field "metadata"$/,
    );
  });

  test('v1beta3 and v1beta4 differ: timeoutForControlPlane and map extraArgs are v1beta3 only', () => {
    assert.equal(
      loadConfigDocs(v1beta3Cluster, 29).byKind.get('ClusterConfiguration')?.kubernetesVersion,
      'v1.29.3',
    );
    const v4 = v1beta3Cluster.replace('v1beta3', 'v1beta4');
    assert.throws(() => loadConfigDocs(v4, 31), /unknown field "apiServer\.timeoutForControlPlane"/);
    const v4ok = `apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
apiServer:
  extraArgs:
  - name: audit-log-maxage
    value: "30"
encryptionAlgorithm: ECDSA-P256
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
timeouts:
  controlPlaneComponentHealthCheck: 2m0s
nodeRegistration:
  imagePullSerial: false
`;
    const docs = loadConfigDocs(v4ok, 31);
    assert.deepEqual([...docs.byKind.keys()], ['ClusterConfiguration', 'InitConfiguration']);
    assert.throws(
      () => loadConfigDocs(v4ok.replace('v1beta4', 'v1beta3'), 29),
      /unknown field "encryptionAlgorithm"/,
    );
  });

  test('API versions by kubeadm minor: old, experimental, unregistered and deprecated', () => {
    assert.throws(() => loadConfigDocs(v1beta3Cluster.replace('v1beta3', 'v1beta2'), 29), {
      message:
        'your configuration file uses an old API spec: "kubeadm.k8s.io/v1beta2" (kind: "ClusterConfiguration"). Please use kubeadm v1.22 instead and run \'kubeadm config migrate --old-config old.yaml --new-config new.yaml\', which will write the new, similar spec using a newer API version.',
    });
    const v4 = 'apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n';
    assert.throws(
      () => loadConfigDocs(v4, 30),
      /^Error: experimental API spec: "kubeadm\.k8s\.io\/v1beta4" \(kind: "InitConfiguration"\) is not allowed/,
    );
    assert.throws(
      () => loadConfigDocs(v4, 27),
      /no kind "InitConfiguration" is registered for version "kubeadm\.k8s\.io\/v1beta4"/,
    );
    assert.throws(
      () => loadConfigDocs('apiVersion: kubeadm.k8s.io/v1beta3\nkind: ResetConfiguration\n', 29),
      /no kind "ResetConfiguration" is registered for version "kubeadm\.k8s\.io\/v1beta3"/,
    );
    assert.match(
      loadConfigDocs(v1beta3Cluster, 31).warnings[0],
      /uses a deprecated API spec: "kubeadm\.k8s\.io\/v1beta3"/,
    );
    assert.throws(
      () => loadConfigDocs('kind: InitConfiguration\n', 29),
      /kind and apiVersion is mandatory information/,
    );
    assert.throws(() => loadConfigDocs(`${v1beta3Cluster}---\n${v1beta3Cluster}`, 29), KubeadmError);
  });

  test('the YAML it writes reads back', () => {
    const value = { a: ['x', { b: 'true', c: 1, d: 'a: b' }], e: {}, f: [], g: 'line\nbreak', h: '10' };
    assert.deepEqual(parseYamlSubset(toYaml(value)), value);
  });
});

describe('kubeadm stand-in: bootstrap tokens and discovery', () => {
  test('token Secrets round-trip; expiry is judged by the expiration key', () => {
    const token = generateToken();
    assert.match(token, TOKEN_RE);
    const [id, secret] = token.split('.');
    const s = tokenSecret({
      id,
      secret,
      usages: ['authentication', 'signing'],
      groups: ['system:bootstrappers:kubeadm:default-node-token'],
      expires: new Date(Date.now() + 60_000),
    });
    assert.equal(s.metadata.name, `bootstrap-token-${id}`);
    assert.equal(s.type, 'bootstrap.kubernetes.io/token');
    const back = tokenFromSecret(s);
    assert.equal(back?.secret, secret);
    assert.deepEqual(back?.usages, ['authentication', 'signing']);
    assert.equal(back && isExpired(back), false);
    assert.equal(back && isExpired(back, Date.now() + 120_000), true);
  });

  test('the signer signs only unexpired tokens with the signing usage; the JWS checks the secret', () => {
    const kubeconfig = 'apiVersion: v1\n';
    const mk = (id: string, usages: string[], expiresIn?: number) =>
      tokenSecret({
        id,
        secret: '0123456789abcdef',
        usages,
        groups: [],
        ...(expiresIn !== undefined ? { expires: new Date(Date.now() + expiresIn) } : {}),
      });
    const data = signedClusterInfoData(kubeconfig, [
      mk('aaaaaa', ['signing', 'authentication']),
      mk('bbbbbb', ['signing'], -1000),
      mk('cccccc', ['authentication'], 60_000),
    ]);
    assert.deepEqual(Object.keys(data).sort(), ['jws-kubeconfig-aaaaaa', 'kubeconfig']);
    const jws = data[jwsKey('aaaaaa')];
    assert.match(jws, /^[\w-]+\.\.[\w-]+$/);
    assert.equal(verifyDetachedJws(jws, kubeconfig, 'aaaaaa', '0123456789abcdef'), true);
    assert.equal(verifyDetachedJws(jws, kubeconfig, 'aaaaaa', '0123456789abcdeg'), false);
    assert.equal(verifyDetachedJws(jws, `${kubeconfig}x`, 'aaaaaa', '0123456789abcdef'), false);
  });

  test('a join accepts cluster-info only for a signed token and a pinned CA', async () => {
    const ca = await newCa('kubernetes');
    const dir = mkdtempSync(join(tmpdir(), 't-kadm-hash-'));
    try {
      // kubeadm's documented openssl recipe for the discovery hash
      writeFileSync(join(dir, 'ca.crt'), ca.cert);
      const pub = execFileSync('openssl', ['x509', '-pubkey', '-noout', '-in', join(dir, 'ca.crt')]);
      const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: pub });
      const hex = execFileSync('openssl', ['dgst', '-sha256', '-hex'], { input: der })
        .toString()
        .trim()
        .split(' ')
        .pop();
      assert.equal(caCertHash(ca.cert), `sha256:${hex}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const token = 'abcdef.0123456789abcdef';
    const kubeconfig = clusterInfoKubeconfig('https://10.0.0.1:6443', ca.cert);
    const info = (data: Record<string, string>) => ({ data: { kubeconfig, ...data } });
    const signed = info({ [jwsKey('abcdef')]: detachedJws(kubeconfig, 'abcdef', '0123456789abcdef') });
    const hash = caCertHash(ca.cert);
    assert.deepEqual(validateClusterInfo(signed, token, [hash], false), {
      server: 'https://10.0.0.1:6443',
      caPem: ca.cert,
    });
    assert.throws(() => validateClusterInfo(info({}), token, [hash], false), {
      name: 'Error',
      message:
        'token id "abcdef" is invalid for this cluster or it has expired. Use "kubeadm token create" on the control-plane node to create a new valid token',
    });
    assert.throws(() => validateClusterInfo(info({}), token, [hash], false), DiscoveryRetry);
    assert.throws(
      () => validateClusterInfo(signed, 'abcdef.0123456789abcdeg', [hash], false),
      /failed to verify JWS signature of received cluster info object, can't trust this API Server/,
    );
    const other = `sha256:${'1'.repeat(64)}`;
    assert.throws(() => validateClusterInfo(signed, token, [other], false), {
      message: `cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "${hash}" are pinned`,
    });
    assert.doesNotThrow(() => validateClusterInfo(signed, token, [], true));
    assert.throws(() => validateClusterInfo(signed, 'abcdef', [hash], false), /was not of the form/);
  });
});
