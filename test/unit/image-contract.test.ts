import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  distribution,
  envDefaults,
  expandVars,
  hookCommand,
  imageEnv,
  imageType,
  kubeVersion,
  labelValue,
  mergeEnv,
  registerEnvSecrets,
  sealosCompatVersion,
  shellEnvPrefix,
} from '../../src/image/contract.js';
import type { ImageConfig } from '../../src/image/types.js';
import { InputError } from '../../src/util/errors.js';
import { redact } from '../../src/util/log.js';
import { shellQuote } from '../../src/util/shell.js';

const config = (env: string[], labels: Record<string, string> = {}): ImageConfig => ({
  architecture: 'amd64',
  os: 'linux',
  config: { Env: env, Labels: labels },
  rootfs: { type: 'layers', diff_ids: [] },
});

test('imageEnv turns the ENV list into a map, splitting at the first =', () => {
  assert.deepEqual(imageEnv(config(['registryDomain=sealos.hub', 'opts=a=b', 'empty=', 'noequals', '=x'])), {
    registryDomain: 'sealos.hub',
    opts: 'a=b',
    empty: '',
  });
  assert.deepEqual(
    imageEnv({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    {},
  );
});

test('mergeEnv: defaults < images < cluster < host; SEALOS_SYS from users ignored; berth facts win', () => {
  const rootfs = {
    registryPort: '5001',
    SEALOS_SYS_CRI_ENDPOINT: '/var/run/cri-dockerd.sock',
    criData: '/var/lib/docker',
  };
  const app = { registryPort: '5002', appKey: 'a' };
  const env = mergeEnv(
    [rootfs, app],
    { appKey: 'cluster', SEALOS_SYS_KUBE_VERSION: 'v0.0.0', registryPassword: 'S3cret!' },
    { appKey: 'host', SEALOS_SYS_CRI_ENDPOINT: '/tmp/evil.sock' },
    { kubeVersion: 'v1.27.7' },
  );
  assert.equal(env.registryDomain, 'sealos.hub');
  assert.equal(env.registryPort, '5002');
  assert.equal(env.appKey, 'host');
  assert.equal(env.registryPassword, 'S3cret!');
  assert.equal(env.criData, '/var/lib/docker');
  assert.equal(env.SEALOS_SYS_CRI_ENDPOINT, '/var/run/cri-dockerd.sock');
  assert.equal(env.SEALOS_SYS_IMAGE_ENDPOINT, '/var/run/cri-dockerd.sock');
  assert.equal(env.SEALOS_SYS_KUBE_VERSION, 'v1.27.7');
  assert.equal(env.SEALOS_SYS_SEALOS_VERSION, sealosCompatVersion);
  assert.equal(env.sandboxImage, undefined);

  const bare = mergeEnv([]);
  for (const [k, v] of Object.entries(envDefaults)) assert.equal(bare[k], v);
  assert.equal(bare.SEALOS_SYS_CRI_ENDPOINT, '/run/containerd/containerd.sock');
  assert.equal(bare.SEALOS_SYS_IMAGE_ENDPOINT, '/run/containerd/containerd.sock');
  assert.equal(bare.SEALOS_SYS_KUBE_VERSION, undefined);
  assert.equal(
    mergeEnv([{ SEALOS_SYS_IMAGE_ENDPOINT: '/var/run/image-cri-shim.sock' }]).SEALOS_SYS_IMAGE_ENDPOINT,
    '/var/run/image-cri-shim.sock',
  );

  registerEnvSecrets(env);
  assert.equal(redact('password is S3cret!'), 'password is ***');
});

test('labels: type, distribution, version, hook labels', () => {
  assert.equal(imageType({ 'sealos.io.type': 'rootfs' }), 'rootfs');
  assert.equal(imageType({ 'apps.sealos.io/type': 'patch' }), 'patch');
  assert.equal(imageType({}), 'application');
  assert.equal(imageType(undefined), 'application');
  assert.throws(
    () => imageType({ 'sealos.io.type': 'weird' }, 'labring/x:1'),
    (e: unknown) =>
      e instanceof InputError && e.message.startsWith('labring/x:1: label sealos.io.type is "weird"'),
  );
  assert.equal(distribution({}), 'kubeadm');
  assert.equal(distribution({ 'apps.sealos.io/distribution': 'k3s' }), 'k3s');
  assert.equal(distribution({ 'sealos.io.distribution': 'k0s' }), 'k0s');
  assert.throws(() => distribution({ 'sealos.io.distribution': 'rke' }), InputError);
  assert.equal(kubeVersion({ version: 'v1.27.7' }), 'v1.27.7');
  assert.equal(
    labelValue({ check: 'check.sh $registryData', init: '  ' }, 'check'),
    'check.sh $registryData',
  );
  assert.equal(labelValue({ init: '  ' }, 'init'), undefined);
});

test('hookCommand picks the label, else <hook>.sh, else nothing, and the line runs in sh', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 't-hooks-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'scripts'));
  await writeFile(
    join(root, 'scripts/check.sh'),
    'echo "check $1 in $(basename "$PWD") data=$registryData"\n',
  );
  await writeFile(join(root, 'scripts/init.sh'), 'echo "init $registryDomain"\n');
  await writeFile(join(root, 'scripts/init-cri.sh'), 'echo "cri $1"\n');
  await chmod(join(root, 'scripts/init.sh'), 0o755);
  const labels = {
    check: 'check.sh $registryData',
    'init-cri': 'init-cri.sh $registryDomain && bash init.sh',
    clean: 'bash init.sh',
  };
  const env = { registryData: "/var/lib/my registry's", registryDomain: 'sealos.hub' };
  const exists = (p: string) => existsSync(p);
  const run = (line: string) => execFileSync('sh', ['-c', line], { encoding: 'utf8' });

  const check = (await hookCommand(labels, 'check', root, exists, env)) as string;
  assert.ok(check.endsWith('bash check.sh $registryData'));
  assert.equal(run(check), "check /var/lib/my in scripts data=/var/lib/my registry's\n");
  assert.equal(
    run((await hookCommand(labels, 'init-cri', root, exists, env)) as string),
    'cri sealos.hub\ninit sealos.hub\n',
  );
  assert.equal(run((await hookCommand(labels, 'clean', root, exists, env)) as string), 'init sealos.hub\n');
  // No label: the script of the hook's name, when the image has one.
  assert.equal(
    run((await hookCommand({}, 'init', root, async (p) => exists(p), env)) as string),
    'init sealos.hub\n',
  );
  assert.equal(await hookCommand({}, 'init-registry', root, exists, env), undefined);
  assert.equal(await hookCommand({}, 'clean', root, exists), undefined);
});

test('expandVars expands $(VAR), braced and bare $VAR from env and leaves the rest to the shell', () => {
  const env = { registryDomain: 'sealos.hub', port: '5000', empty: '' };
  // Shell's braced form, spelled out so it is not read as a JS template placeholder.
  const braced = (name: string) => '$' + '{' + name + '}';
  assert.equal(
    expandVars(
      `kubectl -f $(registryDomain):${braced('port')}/$port x$empty.y $HOME $(date) $$(port) ${braced('nope')}`,
      env,
    ),
    `kubectl -f sealos.hub:5000/5000 x.y $HOME $(date) $(port) ${braced('nope')}`,
  );
  assert.equal(expandVars('$portable $port_', env), '$portable $port_');
});

test('shellEnvPrefix quotes every value so sh sees it byte for byte', () => {
  const env = {
    SPACES: 'a  b\tc',
    QUOTES: `it's "quoted" ''`,
    DOLLAR: '$HOME $' + '{x} $(id) `id`',
    NEWLINES: 'line1\nline2\n',
    BACKSLASH: 'a\\nb\\',
    EMPTY: '',
    UNICODE: 'héllo ✓',
    GLOB: '* ? [a]',
  };
  const keys = Object.keys(env);
  const script = `${shellEnvPrefix(env)}printf '%s\\0' ${keys.map((k) => `"$${k}"`).join(' ')}`;
  const out = execFileSync('sh', ['-c', script], { encoding: 'utf8' });
  assert.deepEqual(out.split('\0').slice(0, -1), Object.values(env));
  // Exported, so child processes see them too.
  const child = execFileSync('sh', ['-c', `${shellEnvPrefix({ X: "a'b" })}sh -c 'printf %s "$X"'`], {
    encoding: 'utf8',
  });
  assert.equal(child, "a'b");
  assert.equal(shellEnvPrefix({}), '');
  assert.equal(shellEnvPrefix({ B: '2', A: '1' }), 'export A=1 B=2; ');
  assert.equal(shellQuote("a'b"), `'a'\\''b'`);
  for (const key of ['1X', 'A-B', 'A B', 'x;rm', '']) {
    assert.throws(() => shellEnvPrefix({ [key]: 'v' }), InputError);
  }
});
