// The worker half of k0s (`k0s worker`, and a controller with --enable-worker/--single): the worker config
// read from the cluster with the node's credentials, the node-local load balancer when that config enables
// it (worker-only nodes), the bundled containerd with k0s's generated config and drop-in imports, airgap
// image bundles imported from <data-dir>/images, and the kubelet with k0s's paths and flags.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  type FSWatcher,
  mkdirSync,
  readdirSync,
  readFileSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { criVersion } from '../k3s/cri-client.js';
import { klog } from '../k3s/standin-log.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { ApiCallError, KubeClient, parseKubeconfig } from '../kubeadm/kubeconfig.js';
import { toYaml } from '../kubeadm/yaml-write.js';
import { apiEndpoints, workerConfigName } from './cluster-objects.js';
import { Component } from './component-supervisor.js';
import { containerdFiles } from './containerd-config.js';
import { CONTAINERD_DROPINS, CONTAINERD_TOML, type K0sPaths } from './k0s-paths.js';
import { NodeLocalBalancer, type Upstream } from './nllb-proxy.js';

export interface WorkerOptions {
  profile: string;
  labels: string[];
  taints: string[];
  kubeletExtraArgs: string;
  criSocket?: string;
  minor: number;
  /** A controller's own worker talks to its local API server, never through the NLLB. */
  onController: boolean;
}

export class WorkerError extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const UNAUTHORIZED_TRIES = 3;
const CONFIG_TRIES = 60;

interface WorkerConfig {
  apiServerAddresses: string[];
  nllb: { enabled: boolean; apiServerBindPort: number };
  kubelet: KubeObject;
  pauseImage: string;
}

function parseWorkerConfig(cm: KubeObject): WorkerConfig {
  const d: Record<string, string> = cm.data ?? {};
  const j = (k: string, dflt: unknown) => (d[k] ? JSON.parse(d[k]) : dflt);
  const nllb = j('nodeLocalLoadBalancing', {});
  return {
    apiServerAddresses: j('apiServerAddresses', []),
    nllb: { enabled: nllb.enabled === true, apiServerBindPort: nllb.envoyProxy?.apiServerBindPort ?? 7443 },
    kubelet: j('kubeletConfiguration', {}),
    pauseImage: j('pauseImage', 'registry.k8s.io/pause:3.9'),
  };
}

const toUpstream = (a: string): Upstream => {
  const i = a.lastIndexOf(':');
  return { host: a.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(a.slice(i + 1)) };
};

export class WorkerComponents {
  private containerd: Component | undefined;
  private kubelet: Component | undefined;
  private nllb: NodeLocalBalancer | undefined;
  private watcher: FSWatcher | undefined;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly p: K0sPaths,
    private readonly o: WorkerOptions,
  ) {}

  private credentials(): KubeClient {
    const file = existsSync(this.p.kubeletConf) ? this.p.kubeletConf : this.p.kubeletBootstrapConf;
    return KubeClient.fromFile(file);
  }

  /** The worker profile's config; a token the API refuses ends the worker after a few tries. */
  private async loadConfig(): Promise<WorkerConfig> {
    const name = workerConfigName(this.o.profile, this.o.minor);
    let unauthorized = 0;
    let last = '';
    for (let i = 0; i < CONFIG_TRIES; i++) {
      try {
        const cm = await this.credentials().get(`/api/v1/namespaces/kube-system/configmaps/${name}`);
        if (cm) return parseWorkerConfig(cm);
        last = `configmaps "${name}" not found`;
      } catch (e) {
        last = (e as Error).message;
        if (e instanceof ApiCallError && e.status === 401 && ++unauthorized >= UNAUTHORIZED_TRIES) break;
      }
      klog.warn(`Failed to load the worker configuration, retrying: ${last}`);
      await sleep(2_000);
    }
    throw new WorkerError(`failed to load configuration for worker profile "${this.o.profile}": ${last}`);
  }

  async start(): Promise<void> {
    // a restarted worker's kubelet.conf names the local balancer, which must serve before the worker config
    // can be read through it: it starts from the API servers it last knew, as k0s's envoy keeps its config
    if (!this.o.onController) await this.resumeNllb();
    const config = await this.loadConfig();
    if (config.nllb.enabled && !this.o.onController) await this.startNllb(config);
    const socket = this.o.criSocket
      ? this.o.criSocket.replace(/^remote:/, '')
      : await this.startContainerd(config.pauseImage);
    this.startKubelet(config, socket);
  }

  private async resumeNllb(): Promise<void> {
    if (!existsSync(this.p.nllbUpstreams) || !existsSync(this.p.kubeletConf)) return;
    const kept = JSON.parse(readFileSync(this.p.nllbUpstreams, 'utf8')) as {
      bindPort: number;
      upstreams: Upstream[];
    };
    if (
      parseKubeconfig(readFileSync(this.p.kubeletConf, 'utf8')).server !==
      `https://localhost:${kept.bindPort}`
    )
      return;
    const nllb = new NodeLocalBalancer(kept.bindPort);
    nllb.setUpstreams(kept.upstreams);
    await nllb.start();
    this.nllb = nllb;
  }

  private setUpstreams(nllb: NodeLocalBalancer, bindPort: number, upstreams: Upstream[]): void {
    nllb.setUpstreams(upstreams);
    writeFileSync(this.p.nllbUpstreams, JSON.stringify({ bindPort, upstreams: nllb.upstreamList() }), {
      mode: 0o600,
    });
  }

  private async startNllb(config: WorkerConfig): Promise<void> {
    const port = config.nllb.apiServerBindPort;
    const resumed = this.nllb;
    const nllb = resumed ?? new NodeLocalBalancer(port);
    this.nllb = nllb;
    this.setUpstreams(nllb, port, config.apiServerAddresses.map(toUpstream));
    if (!resumed) await nllb.start();
    const local = `https://localhost:${config.nllb.apiServerBindPort}`;
    for (const file of [this.p.kubeletBootstrapConf, this.p.kubeletConf]) {
      if (!existsSync(file)) continue;
      const text = readFileSync(file, 'utf8');
      const server = parseKubeconfig(text).server;
      if (server !== local)
        writeFileSync(file, text.split(`server: ${server}`).join(`server: ${local}`), { mode: 0o600 });
    }
    const refresh = async () => {
      if (!existsSync(this.p.kubeletConf)) return;
      try {
        const eps = await apiEndpoints(KubeClient.fromFile(this.p.kubeletConf));
        if (eps.length) this.setUpstreams(nllb, port, eps);
      } catch (e) {
        klog.warn(`NLLB: reading the kubernetes endpoints failed: ${(e as Error).message}`);
      }
    };
    this.timers.push(setInterval(() => void refresh(), 5_000));
  }

  private writeContainerdConfig(pauseImage: string): boolean {
    mkdirSync(CONTAINERD_DROPINS, { recursive: true });
    const current = existsSync(CONTAINERD_TOML) ? readFileSync(CONTAINERD_TOML, 'utf8') : undefined;
    const files = containerdFiles(CONTAINERD_DROPINS, this.p.criConfig, current, pauseImage);
    if (files.main === undefined)
      klog.info(`${CONTAINERD_TOML} is not k0s managed, skipping config generation`);
    let changed = false;
    if (files.main !== undefined && files.main !== current) {
      writeFileSync(CONTAINERD_TOML, files.main, { mode: 0o644 });
      changed = true;
    }
    const cri = existsSync(this.p.criConfig) ? readFileSync(this.p.criConfig, 'utf8') : undefined;
    if (files.cri !== cri) {
      writeFileSync(this.p.criConfig, files.cri, { mode: 0o644 });
      changed = true;
    }
    return changed;
  }

  private async startContainerd(pauseImage: string): Promise<string> {
    const p = this.p;
    mkdirSync(p.containerdRoot, { recursive: true });
    mkdirSync(p.containerdState, { recursive: true, mode: 0o711 });
    this.writeContainerdConfig(pauseImage);
    const env = { ...process.env, PATH: `${p.bin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };
    const args = [
      `--root=${p.containerdRoot}`,
      `--state=${p.containerdState}`,
      `--address=${p.containerdSocket}`,
      `--config=${CONTAINERD_TOML}`,
    ];
    const containerd = new Component('containerd', join(p.bin, 'containerd'), args, env);
    this.containerd = containerd;
    containerd.start();
    for (let i = 0; ; i++) {
      try {
        await criVersion(p.containerdSocket);
        break;
      } catch (e) {
        if (i >= 120)
          throw new WorkerError(
            `containerd did not answer on ${p.containerdSocket}: ${(e as Error).message}`,
          );
        await sleep(500);
      }
    }
    this.importBundles();
    // k0s re-reads the drop-ins when they change; containerd takes a new config only on a restart
    let debounce: NodeJS.Timeout | undefined;
    this.watcher = watch(CONTAINERD_DROPINS, () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => {
        try {
          if (this.writeContainerdConfig(pauseImage)) {
            klog.info('containerd drop-ins changed, restarting containerd');
            void containerd.restart();
          }
        } catch (e) {
          klog.error(`containerd config: ${(e as Error).message}`);
        }
      }, 1_000);
    });
    return p.containerdSocket;
  }

  private importBundles(): void {
    if (!existsSync(this.p.images)) return;
    for (const f of readdirSync(this.p.images).filter((x) => /\.(tar|tar\.gz|tgz)$/.test(x))) {
      try {
        execFileSync(
          'ctr',
          [
            '--address',
            this.p.containerdSocket,
            '--namespace',
            'k8s.io',
            'images',
            'import',
            '--all-platforms',
            join(this.p.images, f),
          ],
          { stdio: 'ignore' },
        );
        klog.info(`Imported image bundle ${f}`);
      } catch (e) {
        klog.error(`Failed to import image bundle ${f}: ${(e as Error).message}`);
      }
    }
  }

  private startKubelet(config: WorkerConfig, socket: string): void {
    const p = this.p;
    mkdirSync(p.kubeletRoot, { recursive: true });
    const endpoint = socket.startsWith('unix://') ? socket : `unix://${socket}`;
    writeFileSync(
      p.kubeletConfig,
      toYaml({
        apiVersion: 'kubelet.config.k8s.io/v1beta1',
        kind: 'KubeletConfiguration',
        authentication: {
          anonymous: { enabled: false },
          webhook: { enabled: true },
          x509: { clientCAFile: join(p.pki, 'ca.crt') },
        },
        authorization: { mode: 'Webhook' },
        cgroupsPerQOS: true,
        containerRuntimeEndpoint: endpoint,
        failSwapOn: false,
        rotateCertificates: true,
        serverTLSBootstrap: true,
        tlsMinVersion: 'VersionTLS12',
        volumePluginDir: '/usr/libexec/k0s/kubelet-plugins/volume/exec',
        ...config.kubelet,
      }),
      { mode: 0o644 },
    );
    const args = [
      `--root-dir=${p.kubeletRoot}`,
      `--config=${p.kubeletConfig}`,
      `--kubeconfig=${p.kubeletConf}`,
      `--bootstrap-kubeconfig=${p.kubeletBootstrapConf}`,
      `--cert-dir=${join(p.kubeletRoot, 'pki')}`,
      `--container-runtime-endpoint=${endpoint}`,
      `--pod-infra-container-image=${config.pauseImage}`,
      '--v=1',
    ];
    if (this.o.labels.length) args.push(`--node-labels=${this.o.labels.join(',')}`);
    if (this.o.taints.length) args.push(`--register-with-taints=${this.o.taints.join(',')}`);
    args.push(...this.o.kubeletExtraArgs.split(/\s+/).filter(Boolean));
    this.kubelet = new Component('kubelet', join(p.bin, 'kubelet'), args);
    this.kubelet.start();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.watcher?.close();
    await this.kubelet?.stop();
    await this.containerd?.stop();
    await this.nllb?.stop();
  }
}
