// Entry point of the kubeadm stand-in (1.27–1.31): cobra-style command dispatch, pflag parsing with
// kubeadm's wording for what it refuses, and the commands berth and its tests run.
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateToken } from '../kube-api/bootstrap-tokens.js';
import { clusterSettings } from './cluster-settings.js';
import { FlagError, type FlagValues, parseFlags, str } from './cobra-flags.js';
import { commandFlags, mixedWithConfig } from './command-flags.js';
import { KubeadmError, loadConfigDocs } from './config-load.js';
import { runInit } from './init-command.js';
import { runJoin } from './join-command.js';
import { kubeVersion, PKI_DIR } from './kubeadm-paths.js';
import { runReset } from './reset-command.js';
import { tokenCreate, tokenDelete, tokenList, uploadCertsPhase } from './token-commands.js';
import { runUpgradeApply, runUpgradeNode, runUpgradePlan } from './upgrade-command.js';
import { newCertificateKey } from './upload-certs.js';

const out = (l: string): void => {
  process.stdout.write(`${l}\n`);
};
const STACK_HINT = 'To see the stack trace of this error execute with --v=5 or higher';

function fail(message: string): never {
  process.stderr.write(`${message}\n${STACK_HINT}\n`);
  process.exit(1);
}

const COMMAND_PATHS = [
  'init phase upload-certs',
  'init',
  'join',
  'reset',
  'upgrade plan',
  'upgrade apply',
  'upgrade node',
  'token create',
  'token list',
  'token delete',
  'token generate',
  'certs check-expiration',
  'certs certificate-key',
  'version',
  'config images list',
];

/** The longest known command path the leading words name, and the rest of the arguments. */
function resolveCommand(argv: string[]): { path: string; rest: string[] } | undefined {
  const words = argv.filter((a) => !a.startsWith('-'));
  for (const path of COMMAND_PATHS) {
    const parts = path.split(' ');
    if (parts.every((p, i) => words[i] === p)) {
      const rest = [...argv];
      for (const p of parts) rest.splice(rest.indexOf(p), 1);
      return { path, rest };
    }
  }
  return undefined;
}

function checkExpiration(values: FlagValues): void {
  const dir = str(values, 'cert-dir') ?? PKI_DIR;
  const row = (cells: string[], widths: number[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('')
      .trimEnd();
  const when = (pem: string) => {
    const to = new Date(new X509Certificate(pem).validTo);
    const days = Math.floor((to.getTime() - Date.now()) / 86_400_000);
    const expires = to
      .toUTCString()
      .replace(/^\w+, (\d+) (\w+) (\d+) (\d+:\d+):\d+ GMT$/, '$2 $1, $3 $4 UTC');
    return { expires, residual: days >= 365 ? `${Math.floor(days / 365)}y` : `${days}d` };
  };
  const leaves: Array<[string, string, string]> = [
    ['admin.conf', '../admin.conf', 'ca'],
    ['apiserver', 'apiserver.crt', 'ca'],
    ['apiserver-etcd-client', 'apiserver-etcd-client.crt', 'etcd-ca'],
    ['apiserver-kubelet-client', 'apiserver-kubelet-client.crt', 'ca'],
    ['controller-manager.conf', '../controller-manager.conf', 'ca'],
    ['etcd-healthcheck-client', 'etcd/healthcheck-client.crt', 'etcd-ca'],
    ['etcd-peer', 'etcd/peer.crt', 'etcd-ca'],
    ['etcd-server', 'etcd/server.crt', 'etcd-ca'],
    ['front-proxy-client', 'front-proxy-client.crt', 'front-proxy-ca'],
    ['scheduler.conf', '../scheduler.conf', 'ca'],
    ['super-admin.conf', '../super-admin.conf', 'ca'],
  ];
  const certOf = (file: string): string | undefined => {
    const path = join(dir, file);
    if (!existsSync(path)) return undefined;
    const text = readFileSync(path, 'utf8');
    if (!file.endsWith('.conf')) return text;
    const m = /client-certificate-data: "?([A-Za-z0-9+/=]+)/.exec(text);
    return m ? Buffer.from(m[1], 'base64').toString('utf8') : undefined;
  };
  const w1 = [25, 25, 16, 24, 20];
  out(row(['CERTIFICATE', 'EXPIRES', 'RESIDUAL TIME', 'CERTIFICATE AUTHORITY', 'EXTERNALLY MANAGED'], w1));
  for (const [name, file, ca] of leaves) {
    const pem = certOf(file);
    if (!pem) continue;
    const { expires, residual } = when(pem);
    out(row([name, expires, residual, ca, 'no'], w1));
  }
  out('');
  const w2 = [25, 25, 16, 20];
  out(row(['CERTIFICATE AUTHORITY', 'EXPIRES', 'RESIDUAL TIME', 'EXTERNALLY MANAGED'], w2));
  for (const [name, file] of [
    ['ca', 'ca.crt'],
    ['etcd-ca', 'etcd/ca.crt'],
    ['front-proxy-ca', 'front-proxy-ca.crt'],
  ]) {
    const pem = certOf(file);
    if (!pem) continue;
    const { expires, residual } = when(pem);
    out(row([name, expires, residual, 'no'], w2));
  }
}

function imagesList(values: FlagValues): void {
  const { gitVersion, minor } = kubeVersion();
  const configPath = str(values, 'config');
  const docs = configPath ? loadConfigDocs(readFileSync(configPath, 'utf8'), minor) : undefined;
  const cluster = docs?.byKind.get('ClusterConfiguration') ?? {
    ...(str(values, 'image-repository') ? { imageRepository: str(values, 'image-repository') } : {}),
    ...(str(values, 'kubernetes-version') ? { kubernetesVersion: str(values, 'kubernetes-version') } : {}),
  };
  const i = clusterSettings(cluster, gitVersion, minor).images;
  for (const image of [i.apiserver, i.controllerManager, i.scheduler, i.proxy, i.coredns, i.pause, i.etcd])
    out(image);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { gitVersion, minor } = kubeVersion();
  const resolved = resolveCommand(argv);
  if (!resolved) {
    const word = argv.find((a) => !a.startsWith('-'));
    fail(word ? `unknown command "${word}" for "kubeadm"` : 'kubeadm: the stand-in needs a command');
  }
  const specs = commandFlags(resolved.path, minor) ?? [];
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(resolved.rest, specs);
  } catch (e) {
    if (e instanceof FlagError) fail(e.message);
    throw e;
  }
  const { values, positional } = parsed;
  if (resolved.path === 'init' || resolved.path === 'join') {
    const mixed = mixedWithConfig([...values.keys()]);
    if (mixed.length) fail(`can not mix '--config' with arguments [${mixed.join(' ')}]`);
  }
  try {
    switch (resolved.path) {
      case 'init':
        return await runInit(values, out);
      case 'init phase upload-certs':
        return await uploadCertsPhase(values, out);
      case 'join':
        return await runJoin(values, positional, out);
      case 'reset':
        return await runReset(values, out);
      case 'upgrade plan':
        return await runUpgradePlan(values, positional, out);
      case 'upgrade apply':
        return await runUpgradeApply(values, positional, out);
      case 'upgrade node':
        return await runUpgradeNode(values, out);
      case 'token create':
        return await tokenCreate(values, positional, out);
      case 'token list':
        return await tokenList(values, out);
      case 'token delete':
        return await tokenDelete(values, positional, out);
      case 'token generate':
        return out(generateToken());
      case 'certs check-expiration':
        return checkExpiration(values);
      case 'certs certificate-key':
        return out(newCertificateKey());
      case 'config images list':
        return imagesList(values);
      case 'version': {
        const o = str(values, 'output');
        const info = {
          major: '1',
          minor: String(minor),
          gitVersion,
          gitCommit: '0000000000000000000000000000000000000000',
          gitTreeState: 'clean',
          buildDate: '2024-01-01T00:00:00Z',
          goVersion: 'go1.22.0',
          compiler: 'gc',
          platform: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
        };
        if (o === 'short') return out(gitVersion);
        if (o === 'json') return out(JSON.stringify({ clientVersion: info }, null, 2));
        if (o && o !== 'yaml') fail(`error: invalid output format: ${o}`);
        return out(
          `kubeadm version: &version.Info{Major:"1", Minor:"${minor}", GitVersion:"${gitVersion}", GitCommit:"${info.gitCommit}", GitTreeState:"clean", BuildDate:"${info.buildDate}", GoVersion:"${info.goVersion}", Compiler:"gc", Platform:"${info.platform}"}`,
        );
      }
    }
  } catch (e) {
    if (e instanceof KubeadmError) fail(e.message);
    fail((e as Error).message);
  }
}

main().catch((e: Error) => fail(e.message));
