import { lstat, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { applyConfigPatch, type Cluster, type ConfigDoc, envMap } from '../clusterfile/index.js';
import {
  type Env,
  type ImageType,
  imageEnv,
  imageType,
  kubeVersion,
  mergeEnv,
  registerEnvSecrets,
} from '../image/contract.js';
import { unpackImage } from '../image/mount.js';
import { familiarName, parseReference } from '../image/reference.js';
import { pullImage } from '../image/registry/pull.js';
import type { ImageStore } from '../image/store.js';
import { renderTemplatesInDir } from '../image/template/index.js';
import type { ImageConfig, Platform } from '../image/types.js';
import { InputError, NotFoundError } from '../util/errors.js';
import { log } from '../util/log.js';
import { digestInputs } from './journal.js';

// The "mount and merge" step: the cluster's images are unpacked on the machine running berth, rootfs then
// patch images into one tree, application images each into their own; templates are rendered with the
// merged env and Config patches applied. The result is keyed by everything that shaped it, so an
// unchanged cluster reuses the tree from the last apply without unpacking anything.

export interface ImagesInput {
  cluster: Cluster;
  configs: ConfigDoc[];
  store: ImageStore;
  /** The generated registry password: it goes over any an image sets (the Clusterfile env may set another). */
  registryPassword: string;
  /** Where rootfs/ and apps/ are kept: the cluster's state dir. */
  dir: string;
  /**
   * A dry run's own dir: when the trees in `dir` are not current they are made here instead, so that a
   * dry run leaves the state dir as it was.
   */
  scratch?: string;
}

/** rootfs/ and apps/ under `dir`; each application image in its own numbered dir. */
function layout(dir: string, images: PreparedImage[]) {
  const appsDir = join(dir, 'apps');
  return {
    rootfsDir: join(dir, 'rootfs'),
    appsDir,
    appDirs: images
      .filter((i) => i.type === 'application')
      .map((image, n) => join(appsDir, `${n}-${image.name.replace(/[^A-Za-z0-9_.-]/g, '-')}`)),
  };
}

export interface PreparedImage {
  ref: string;
  name: string;
  type: ImageType;
  manifestDigest: string;
  config: ImageConfig;
  labels: Record<string, string>;
  env: Env;
}

export interface PreparedApp {
  image: PreparedImage;
  /** Unpacked files on this machine. */
  dir: string;
  /** The shell command to run on the first master (CMD, or ENTRYPOINT + CMD). */
  command?: string;
  env: Env;
}

export interface PreparedImages {
  platform: Platform;
  /** Digest of every input of the merged tree. */
  key: string;
  rootfsDir: string;
  images: PreparedImage[];
  /** Labels of the rootfs and patch images, later winning. */
  labels: Record<string, string>;
  /** The merged env of the rootfs and patch images with the cluster's env. */
  env: Env;
  /** CMD of the cluster's rootfs/patch images (or spec.command), run on every host. */
  command?: string;
  apps: PreparedApp[];
}

const keyFile = '.berth-key';

async function ensureImage(store: ImageStore, ref: string, platform: Platform) {
  try {
    return await store.image(ref, platform);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  log.info(`pulling ${ref}`);
  await pullImage(ref, { platform, store });
  return store.image(ref, platform);
}

function commandOf(config: ImageConfig): string | undefined {
  const parts = [...(config.config?.Entrypoint ?? []), ...(config.config?.Cmd ?? [])];
  return parts.length ? parts.join(' ') : undefined;
}

/** Applies the Config documents whose `match` fits (or that have none) to files under `root`. */
async function applyPatches(
  root: string,
  configs: ConfigDoc[],
  image: PreparedImage | undefined,
): Promise<void> {
  for (const doc of configs) {
    const { match, path, data, strategy } = doc.spec;
    if (match && (!image || (match !== image.ref && match !== image.name))) continue;
    if (!match && image) continue;
    const target = resolve(root, path);
    if (relative(root, target).startsWith('..'))
      throw new InputError(`Config ${path}: leaves the image root`);
    const info = await lstat(target).catch(() => undefined);
    if (info?.isSymbolicLink())
      throw new InputError(`Config ${path}: is a symbolic link in the image; refusing to follow it`);
    const current = info ? await readFile(target, 'utf8') : '';
    await mkdir(join(target, '..'), { recursive: true });
    await writeFile(target, applyConfigPatch(current, { data, strategy, path }));
  }
}

export async function prepareImages(input: ImagesInput, platform: Platform): Promise<PreparedImages> {
  const spec = input.cluster.spec;
  const images: PreparedImage[] = [];
  for (const ref of spec.image) {
    const img = await ensureImage(input.store, ref, platform);
    const labels = img.config.config?.Labels ?? {};
    images.push({
      ref,
      name: familiarName(parseReference(ref)),
      type: imageType(labels, ref),
      manifestDigest: img.manifestDescriptor.digest,
      config: img.config,
      labels,
      env: imageEnv(img.config),
    });
  }
  const base = images.filter((i) => i.type !== 'application');
  if (base[0]?.type !== 'rootfs') {
    throw new InputError(
      `spec.image: the first image must be a rootfs image (label sealos.io.type=rootfs), got ${spec.image[0]}`,
    );
  }
  const labels: Record<string, string> = Object.assign({}, ...base.map((i) => i.labels));
  const clusterEnv = envMap(input.cluster);
  // The cluster registry never runs with a password an image ships (published images all carry the same
  // well-known one): berth's generated password wins over the images' env; only the Clusterfile's own
  // env, the user's explicit choice, goes over it.
  const env = mergeEnv(
    [...base.map((i) => i.env), { registryPassword: input.registryPassword }],
    clusterEnv,
    {},
    {
      kubeVersion: kubeVersion(labels),
    },
  );
  registerEnvSecrets(env);
  const command = spec.command?.length
    ? spec.command.join(' ')
    : base
        .map((i) => commandOf(i.config))
        .filter(Boolean)
        .at(-1);
  const key = digestInputs({
    images: images.map((i) => i.manifestDigest),
    env,
    configs: input.configs,
    platform,
  });
  const kept = layout(input.dir, images);
  const current = await readFile(join(kept.rootfsDir, keyFile), 'utf8').catch(() => '');
  const { rootfsDir, appsDir, appDirs } =
    current !== key && input.scratch ? layout(input.scratch, images) : kept;
  const apps: PreparedApp[] = images
    .filter((i) => i.type === 'application')
    .map((image, n) => ({
      image,
      dir: appDirs[n] as string,
      command: commandOf(image.config),
      env: mergeEnv([env, image.env], clusterEnv),
    }));
  const prepared: PreparedImages = { platform, key, rootfsDir, images, labels, env, command, apps };
  if (current === key) return prepared;

  log.info(`unpacking ${images.length} image(s) for cluster ${input.cluster.metadata.name}`);
  const tmp = `${rootfsDir}.tmp`;
  const tmpApps = `${appsDir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await rm(tmpApps, { recursive: true, force: true });
  for (const img of base) await unpackImage(input.store, img.ref, tmp, platform);
  await renderTemplatesInDir(tmp, env);
  await applyPatches(tmp, input.configs, undefined);
  for (const app of apps) {
    const dir = join(tmpApps, relative(appsDir, app.dir));
    await unpackImage(input.store, app.image.ref, dir, platform);
    await renderTemplatesInDir(dir, app.env);
    await applyPatches(dir, input.configs, app.image);
  }
  await writeFile(join(tmp, keyFile), key);
  // Swap in the new trees only when complete, so a crash never leaves a half-unpacked rootfs in use.
  await rm(rootfsDir, { recursive: true, force: true });
  await rm(appsDir, { recursive: true, force: true });
  await mkdir(tmpApps, { recursive: true });
  await rename(tmpApps, appsDir);
  await rename(tmp, rootfsDir);
  return prepared;
}
