// Builds the example k3s cluster image (examples/k3s) offline, for the demo and the end-to-end tests:
// a pause image is built from busybox and served by a registry on this machine, the context lists it in
// images/shim, and `berth build` saves it into registry/ as pause:3.9, so that a pull of
// registry.k8s.io/pause:3.9 on the cluster's hosts is served from the cluster registry.
// bin/k3s is a real k3s when BERTH_K3S_BINARY names one (or `k3s` is on PATH); otherwise the k3s
// test stand-in, which the caller is told about. The example application image (examples/hello) is built
// the same way, its container image made from busybox.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage } from '../src/image/build.js';
import { pushImage } from '../src/image/registry/push.js';
import { closeDispatchers } from '../src/image/registry/transport.js';
import { saveContextImages } from '../src/image/registry-dir.js';
import type { ImageStore } from '../src/image/store.js';
import { hostPlatform } from '../src/image/types.js';
import { startRegistry } from '../test/helpers/test-registry.js';
import { writeK3sStandIn } from '../test/stand-ins/k3s/install.js';

const contextSource = fileURLToPath(new URL('../../examples/k3s', import.meta.url));
const appSource = fileURLToPath(new URL('../../examples/hello', import.meta.url));

/** Builds a one-file image of /bin/busybox running `cmd` as `ref` and pushes it to its (loopback) registry. */
async function pushBusyboxImage(workDir: string, ref: string, cmd: string[], store?: ImageStore) {
  const dir = join(workDir, ref.replace(/[^A-Za-z0-9]+/g, '-'));
  mkdirSync(dir, { recursive: true });
  cpSync('/bin/busybox', join(dir, 'busybox'));
  writeFileSync(
    join(dir, 'Kubefile'),
    `FROM scratch\nCOPY busybox /bin/busybox\nCMD ${JSON.stringify(cmd)}\n`,
  );
  await buildImage({ contextDir: dir, tags: [ref], store });
  await pushImage(ref, ref, { store });
}

function realK3s(): string | undefined {
  const named = process.env.BERTH_K3S_BINARY;
  if (named) return named;
  try {
    return execFileSync('sh', ['-c', 'command -v k3s'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface ExampleImage {
  ref: string;
  /** True when bin/k3s is the test stand-in, not a real k3s. */
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
}): Promise<ExampleImage> {
  const source = await startRegistry();
  try {
    const pauseRef = `${source.host}/pause:3.9`;
    await pushBusyboxImage(opts.workDir, pauseRef, ['/bin/busybox', 'sleep', '2147483647'], opts.store);

    const context = join(opts.workDir, 'k3s');
    rmSync(context, { recursive: true, force: true });
    cpSync(contextSource, context, { recursive: true });
    writeFileSync(join(context, 'images', 'shim', 'images.txt'), `${pauseRef}\n`, { flag: 'a' });
    const bin = join(context, 'bin');
    mkdirSync(bin, { recursive: true });
    const k3s = realK3s();
    if (k3s) cpSync(k3s, join(bin, 'k3s'));
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
    return { ref: opts.tag, standIn: !k3s };
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
    await pushBusyboxImage(opts.workDir, helloRef, ['/bin/busybox', 'httpd', '-f', '-p', '8080'], opts.store);
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
