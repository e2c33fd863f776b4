// Builds the example cluster images (examples/k3s, examples/kubeadm, examples/k0s) offline, for the demo and the
// end-to-end tests: the images the cluster pulls (pause, and for kubeadm its control-plane images) are built
// from busybox and served by a registry on this machine, the context lists them in images/shim, and `berth
// build` saves them into registry/ (pause:3.9...), so that a pull of registry.k8s.io/pause:3.9 on the
// cluster's hosts is served from the cluster registry.
// k3s: bin/k3s is a real k3s when BERTH_K3S_BINARY names one (or `k3s` is on PATH); otherwise the k3s
// test stand-in, which the caller is told about. kubeadm: bin/ holds the kubeadm, kubelet and
// kube-apiserver test stand-ins and the machine's real kubectl, cri/ the machine's real containerd,
// containerd-shim-runc-v2 and runc. k0s: bin/k0s is a real k0s when BERTH_K0S_BINARY names one (or `k0s`
// is on PATH); otherwise the k0s test stand-in (which runs this machine's etcd and containerd as the
// components a real k0s bundles). The example application image (examples/hello) is built the same way,
// its container image made from busybox.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage } from '../src/image/build.js';
import { pushImage } from '../src/image/registry/push.js';
import { closeDispatchers } from '../src/image/registry/transport.js';
import { saveContextImages } from '../src/image/registry-dir.js';
import type { ImageStore } from '../src/image/store.js';
import { hostPlatform } from '../src/image/types.js';
import { startRegistry } from '../test/helpers/test-registry.js';
import { writeK0sStandIn } from '../test/stand-ins/k0s/install.js';
import { writeK3sStandIn } from '../test/stand-ins/k3s/install.js';
import { writeKubeApiserverStandIn } from '../test/stand-ins/kube-apiserver/install.js';
import { kubeadmDropIn, kubeletUnit, writeKubeadmStandIns } from '../test/stand-ins/kubeadm/install.js';

export type ExampleDistribution = 'k3s' | 'kubeadm' | 'k0s';

const examplesDir = fileURLToPath(new URL('../../examples', import.meta.url));
const appSource = join(examplesDir, 'hello');

/** The Kubernetes version of examples/kubeadm unless a build asks for another. */
export const KUBEADM_EXAMPLE_VERSION = 'v1.29.3';
/** The k0s version of examples/k0s (its `version` label). */
export const K0S_EXAMPLE_VERSION = 'v1.29.4+k0s.0';

/** The images kubeadm pulls for `version`, without a registry host. */
function kubeadmImages(version: string): string[] {
  return [
    'pause:3.9',
    `kube-apiserver:${version}`,
    `kube-controller-manager:${version}`,
    `kube-scheduler:${version}`,
    `kube-proxy:${version}`,
    'etcd:3.5.12-0',
    'coredns:v1.11.1',
  ];
}

/**
 * Builds a one-file image of /bin/busybox running `cmd`, tagged with every one of `refs`, and pushes each to
 * its (loopback) registry.
 */
async function pushBusyboxImage(workDir: string, refs: string[], cmd: string[], store?: ImageStore) {
  const dir = join(workDir, refs[0]!.replace(/[^A-Za-z0-9]+/g, '-'));
  mkdirSync(dir, { recursive: true });
  cpSync('/bin/busybox', join(dir, 'busybox'));
  writeFileSync(
    join(dir, 'Kubefile'),
    `FROM scratch\nCOPY busybox /bin/busybox\nCMD ${JSON.stringify(cmd)}\n`,
  );
  await buildImage({ contextDir: dir, tags: refs, store });
  for (const ref of refs) await pushImage(ref, ref, { store });
}

function onPath(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A real binary of `distribution` to put in bin/: the one its BERTH_*_BINARY names, else one on PATH. */
function realBinary(distribution: 'k3s' | 'k0s'): string | undefined {
  return process.env[`BERTH_${distribution.toUpperCase()}_BINARY`] || onPath(distribution);
}

/** A program of this machine that the kubeadm example image carries. */
function machineProgram(name: string, debianPackage: string): string {
  const path = onPath(name);
  if (!path)
    throw new Error(`examples/kubeadm needs this machine's ${name}: apt-get install ${debianPackage}`);
  return path;
}

/** The Kubefile's version label changed from the example's `from` to `to`. */
function setVersionLabel(context: string, from: string, to: string): void {
  const kubefile = join(context, 'Kubefile');
  writeFileSync(kubefile, readFileSync(kubefile, 'utf8').replace(`version="${from}"`, `version="${to}"`));
}

/** The k0s stand-in of `version` in bin/, and the image's version label saying so. */
async function fillK0sContext(context: string, version: string): Promise<void> {
  await writeK0sStandIn(join(context, 'bin'), version);
  setVersionLabel(context, K0S_EXAMPLE_VERSION, version);
}

/** bin/ and cri/ of the kubeadm example, and the kubelet unit files scripts/init.sh installs. */
async function fillKubeadmContext(context: string, version: string): Promise<void> {
  const bin = join(context, 'bin');
  await writeKubeadmStandIns(bin, version);
  await writeKubeApiserverStandIn(bin, version);
  setVersionLabel(context, KUBEADM_EXAMPLE_VERSION, version);
  cpSync(machineProgram('kubectl', 'kubectl'), join(bin, 'kubectl'));
  const cri = join(context, 'cri');
  mkdirSync(cri, { recursive: true });
  for (const [name, pkg] of [
    ['containerd', 'containerd'],
    ['containerd-shim-runc-v2', 'containerd'],
    ['runc', 'runc'],
  ] as const)
    cpSync(machineProgram(name, pkg), join(cri, name));
  writeFileSync(join(context, 'etc', 'kubelet.service'), kubeletUnit('/usr/bin/kubelet'));
  writeFileSync(join(context, 'etc', '10-kubeadm.conf'), kubeadmDropIn('/usr/bin/kubelet'));
}

export interface ExampleImage {
  ref: string;
  /** True when bin/ holds test stand-ins (always for kubeadm; for k3s and k0s when no real one was found). */
  standIn: boolean;
}

/** Writes `bytes` of random (incompressible) data as payload/random.bin, in 16 MiB chunks. */
function writePayload(context: string, bytes: number): void {
  const dir = join(context, 'payload');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'random.bin');
  writeFileSync(file, '');
  for (let left = bytes; left > 0; left -= 16 * 1024 * 1024)
    appendFileSync(file, randomBytes(Math.min(left, 16 * 1024 * 1024)));
  appendFileSync(join(context, 'Kubefile'), 'COPY payload payload\n');
}

export async function buildExampleImage(opts: {
  tag: string;
  workDir: string;
  store?: ImageStore;
  /** Extra bytes of random data in the rootfs (payload/random.bin, outside registry/), for benchmarks. */
  payloadBytes?: number;
  /** Which example: examples/k3s (default), examples/kubeadm or examples/k0s. */
  distribution?: ExampleDistribution;
  /**
   * The version the image carries: kubeadm v1.27.x-v1.31.x (KUBEADM_EXAMPLE_VERSION by default), k0s
   * v1.28.x+k0s.N-v1.30.x+k0s.N (K0S_EXAMPLE_VERSION by default), as the stand-ins know them.
   */
  version?: string;
}): Promise<ExampleImage> {
  const distribution = opts.distribution ?? 'k3s';
  const version = opts.version ?? (distribution === 'k0s' ? K0S_EXAMPLE_VERSION : KUBEADM_EXAMPLE_VERSION);
  if (distribution === 'kubeadm' && !/^v1\.(2[7-9]|3[01])\.\d+$/.test(version))
    throw new Error(
      `examples/kubeadm: version ${version} is outside v1.27.x-v1.31.x, which the stand-ins know`,
    );
  const source = await startRegistry();
  try {
    const refs = (distribution === 'kubeadm' ? kubeadmImages(version) : ['pause:3.9']).map(
      (i) => `${source.host}/${i}`,
    );
    await pushBusyboxImage(opts.workDir, refs, ['/bin/busybox', 'sleep', '2147483647'], opts.store);

    const context = join(opts.workDir, distribution);
    rmSync(context, { recursive: true, force: true });
    cpSync(join(examplesDir, distribution), context, { recursive: true });
    writeFileSync(join(context, 'images', 'shim', 'images.txt'), `${refs.join('\n')}\n`, { flag: 'a' });
    const bin = join(context, 'bin');
    mkdirSync(bin, { recursive: true });
    const real = distribution === 'kubeadm' ? undefined : realBinary(distribution);
    if (distribution === 'kubeadm') await fillKubeadmContext(context, version);
    else if (real) cpSync(real, join(bin, distribution));
    else if (distribution === 'k0s') await fillK0sContext(context, version);
    else await writeK3sStandIn(bin);
    mkdirSync(join(context, 'registry'), { recursive: true });
    if (opts.payloadBytes) writePayload(context, opts.payloadBytes);
    await buildImage({
      contextDir: context,
      tags: [opts.tag],
      store: opts.store,
      beforeLayers: async (dir) => {
        await saveContextImages(dir, { platforms: [hostPlatform()] });
      },
    });
    return { ref: opts.tag, standIn: !real };
  } finally {
    await closeDispatchers();
    await source.stop();
  }
}

/**
 * Builds the example application image (examples/hello) offline: berth-example/hello:1.0, made from
 * busybox and served by a loopback registry, is listed in images/shim and saved into registry/.
 * `labels` make another digest of the same app; `withoutImages` leaves registry/ empty and `env` points the
 * Deployment elsewhere, for an app whose image the cluster registry lacks.
 */
export async function buildExampleApp(opts: {
  tag: string;
  workDir: string;
  store?: ImageStore;
  labels?: string[];
  env?: string[];
  withoutImages?: boolean;
}): Promise<string> {
  const source = await startRegistry();
  try {
    const helloRef = `${source.host}/berth-example/hello:1.0`;
    await pushBusyboxImage(
      opts.workDir,
      [helloRef],
      ['/bin/busybox', 'httpd', '-f', '-p', '8080'],
      opts.store,
    );
    const context = join(opts.workDir, 'hello');
    rmSync(context, { recursive: true, force: true });
    cpSync(appSource, context, { recursive: true });
    writeFileSync(join(context, 'images', 'shim', 'images.txt'), `${helloRef}\n`, { flag: 'a' });
    mkdirSync(join(context, 'registry'), { recursive: true });
    await buildImage({
      contextDir: context,
      tags: [opts.tag],
      store: opts.store,
      labels: opts.labels,
      env: opts.env,
      ...(opts.withoutImages
        ? {}
        : {
            beforeLayers: async (dir: string) => {
              await saveContextImages(dir, { platforms: [hostPlatform()] });
            },
          }),
    });
    return opts.tag;
  } finally {
    await closeDispatchers();
    await source.stop();
  }
}
