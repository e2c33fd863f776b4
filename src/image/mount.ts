import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, UsageError } from '../util/errors.js';
import { berthPath } from '../util/paths.js';
import { type UnpackLimits, unpackLayers } from './layer-unpack.js';
import { familiarName, parseReference } from './reference.js';
import type { ImageStore } from './store.js';
import type { Platform } from './types.js';

/** Unpacks an image's files (all layers in order, whiteouts honoured) into `dir`. */
export async function unpackImage(
  store: ImageStore,
  ref: string,
  dir: string,
  platform?: Platform,
  limits?: UnpackLimits,
): Promise<void> {
  const img = await store.image(ref, platform);
  await unpackLayers(store, img.manifest.layers, dir, limits);
}

export function mountPath(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new UsageError(
      `mount name "${name}" may hold only letters, digits, _ . - (and start with a letter or digit)`,
    );
  }
  return berthPath('mounts', name);
}

/** The default mount name of an image: its short name with `/` and `:` turned into `-`. */
export function defaultMountName(ref: string): string {
  return familiarName(parseReference(ref)).replace(/[^A-Za-z0-9_.-]/g, '-');
}

/**
 * Unpacks an image under berthPath('mounts', name) and returns the path. The files appear all at once
 * (unpacked beside, then renamed), so a half-unpacked tree is never taken for a mount.
 */
export async function createMount(
  store: ImageStore,
  ref: string,
  name = defaultMountName(ref),
  options: { reuse?: boolean; platform?: Platform } = {},
): Promise<string> {
  const path = mountPath(name);
  if (
    await stat(path).then(
      () => true,
      () => false,
    )
  ) {
    if (options.reuse) return path;
    throw new UsageError(`mount ${name} already exists at ${path}; remove it with berth umount ${name}`);
  }
  await mkdir(berthPath('mounts'), { recursive: true });
  const tmp = join(berthPath('mounts'), `.${name}.${process.pid}.tmp`);
  try {
    await unpackImage(store, ref, tmp, options.platform);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return path;
}

export async function removeMount(name: string): Promise<void> {
  const path = mountPath(name);
  if (
    !(await stat(path).then(
      () => true,
      () => false,
    ))
  ) {
    throw new NotFoundError(`mount ${name} does not exist under ${berthPath('mounts')}`);
  }
  await rm(path, { recursive: true, force: true });
}
