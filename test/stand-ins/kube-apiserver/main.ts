// Entry point of the kube-apiserver stand-in that a kubeadm control plane runs as its kube-apiserver static
// pod: kube-apiserver's flags, its TLS serving with client-certificate, bootstrap-token and anonymous
// authentication, Node and RBAC authorization, and the shared stand-in API kept in the etcd --etcd-servers
// names. It also runs the stand-in workload controller while it holds the controller-manager Lease.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { detectNodeIp } from '../k3s/host-address.js';
import { notifySystemd } from '../k3s/systemd-notify.js';
import { sendStatus } from '../kube-api/api-response.js';
import { KubeApiServer } from '../kube-api/api-server.js';
import { WorkloadController } from '../kube-api/controllers/workload-controller.js';
import { EtcdStorage } from '../kube-api/etcd-storage.js';
import { ensureBootstrapPolicy } from '../kube-api/rbac-authorizer.js';
import { FlagError, parseApiserverFlags, validateApiserverFlags } from './apiserver-flags.js';
import { ControllerLease } from './controller-lease.js';
import { authenticate, authorizes } from './request-auth.js';

const VERSION = process.env.KUBE_APISERVER_STANDIN_VERSION || 'v1.29.3';
const ETCD_WAIT_MS = 60_000;

/** klog's header: severity, date, time, PID and a source location, as kube-apiserver logs. */
function klog(severity: 'I' | 'W' | 'E', message: string): void {
  const d = new Date();
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds() * 1000, 6)}`;
  process.stderr.write(`${severity}${stamp} ${String(process.pid).padStart(7)} server.go:1] ${message}\n`);
}

function commandFailed(err: string): never {
  klog('E', `"command failed" err=${JSON.stringify(err)}`);
  process.exit(1);
}

function readPem(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return commandFailed(
      `open ${path}: ${code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`,
    );
  }
}

const HELP = `The Kubernetes API server validates and configures data
for the api objects which include pods, services, replicationcontrollers, and
others. (berth's test stand-in, ${VERSION}.)

Usage:
  kube-apiserver [flags]
`;

async function openStorage(
  endpoints: string[],
  tls: { ca: string; cert: string; key: string },
  prefix: string,
) {
  const deadline = Date.now() + ETCD_WAIT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await EtcdStorage.open({
        endpoints,
        tls,
        prefix,
        onError: (m) => klog('W', m),
      });
    } catch (e) {
      if (Date.now() > deadline) commandFailed(`context deadline exceeded: etcd: ${(e as Error).message}`);
      if (attempt === 1 || attempt % 10 === 0)
        klog('W', `etcd not ready yet (${(e as Error).message}), retrying`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function main(): Promise<void> {
  const argv = process.env.BERTH_STANDIN_ARGV0 ? process.argv.slice(1) : process.argv.slice(2);
  let flags: ReturnType<typeof parseApiserverFlags>;
  try {
    flags = parseApiserverFlags(argv);
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    process.stderr.write(`Error: ${e.message}\n`);
    process.exit(1);
  }
  if (flags.bool('help')) {
    process.stdout.write(HELP);
    return;
  }
  if (flags.bool('version')) {
    process.stdout.write(`Kubernetes ${VERSION}\n`);
    return;
  }
  const errors = validateApiserverFlags(flags);
  if (!flags.str('tls-cert-file'))
    errors.push('the kube-apiserver stand-in needs --tls-cert-file and --tls-private-key-file');
  if (errors.length) commandFailed(`[${errors.join(', ')}]`);
  process.title = 'kube-apiserver';

  const serving = {
    cert: readPem(flags.str('tls-cert-file')),
    key: readPem(flags.str('tls-private-key-file')),
  };
  const clientCa = flags.str('client-ca-file') ? readPem(flags.str('client-ca-file')) : undefined;
  for (const f of [...flags.list('service-account-key-file'), flags.str('service-account-signing-key-file')])
    readPem(f);
  for (const f of ['requestheader-client-ca-file', 'proxy-client-cert-file', 'proxy-client-key-file'])
    if (flags.str(f)) readPem(flags.str(f));
  const etcdTls = {
    ca: flags.str('etcd-cafile') ? readPem(flags.str('etcd-cafile')) : '',
    cert: flags.str('etcd-certfile') ? readPem(flags.str('etcd-certfile')) : '',
    key: flags.str('etcd-keyfile') ? readPem(flags.str('etcd-keyfile')) : '',
  };
  const port = flags.int('secure-port');
  const bind = flags.str('bind-address');
  const advertise = flags.str('advertise-address') || (bind !== '0.0.0.0' ? bind : detectNodeIp());
  klog('I', `Version: ${VERSION}`);

  const storage = await openStorage(flags.list('etcd-servers'), etcdTls, flags.str('etcd-prefix'));
  const modes = flags.list('authorization-mode');
  const api: KubeApiServer = new KubeApiServer({
    storage,
    version: versionInfo(),
    advertiseAddress: `${advertise}:${port}`,
    serviceCidr: flags.str('service-cluster-ip-range').split(',')[0] || '10.0.0.0/24',
    authorize: (user, a) => authorizes(api, modes, user, a),
  });
  const auth = {
    bootstrapTokens: flags.bool('enable-bootstrap-token-auth'),
    anonymous: flags.bool('anonymous-auth'),
  };
  const server = createServer(
    { ...serving, ca: clientCa, requestCert: true, rejectUnauthorized: false },
    (req: IncomingMessage, res: ServerResponse) => {
      const user = authenticate(api, req, auth);
      const work = user
        ? api.handle(req, res, user)
        : Promise.resolve(sendStatus(res, 401, 'Unauthorized', 'Unauthorized'));
      work.catch((e: Error) => {
        klog('E', `"Unhandled Error" err="${req.method} ${req.url}: ${e.message}"`);
        if (!res.headersSent) sendStatus(res, 500, 'InternalError', e.message);
        else res.end();
      });
    },
  );
  // kube-apiserver fails /healthz until its post-start hooks made these; a stand-in serving ok before
  // them let a loaded host's kubeadm init reach an API without kube-system
  await api.ensureBuiltins();
  await ensureBootstrapPolicy(api);
  await new Promise<void>((resolve) => {
    server.once('error', (e) => commandFailed(`failed to listen on ${bind}:${port}: ${e.message}`));
    server.listen(port, bind, () => resolve());
  });
  klog('I', `Serving securely on ${bind}:${port}`);
  const lease = new ControllerLease(api, (m) => klog('W', m));
  lease.start();
  const controller = new WorkloadController(api, {
    isLeader: () => lease.isLeader(),
    // The nodes' kubelets start pods once their images are pulled.
    startPods: false,
    onError: (m) => klog('E', `controller: ${m}`),
  });
  controller.start();
  notifySystemd();
  const stop = () => {
    klog('I', 'Shutting down');
    controller.stop();
    lease.stop();
    server.close();
    server.closeAllConnections();
    storage.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function versionInfo() {
  const m = /^v(\d+)\.(\d+)/.exec(VERSION);
  return {
    major: m?.[1] ?? '1',
    minor: m?.[2] ?? '29',
    gitVersion: VERSION,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2024-03-15T00:00:00Z',
    goVersion: 'go1.21.8',
    compiler: 'gc',
    platform: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

main().catch((e: Error) => commandFailed(e.message));
