import { reproducibleCreated, writeImage } from './image-write.js';
import type { ImageStore } from './store.js';
import type { Descriptor, ImageConfig, Platform } from './types.js';

/**
 * One image whose files are the inputs' files in order, later ones winning: the layers of every input in
 * sequence (their whiteouts apply to earlier inputs, as a runtime would apply them). Labels and env are
 * merged with later values winning; Cmd and Entrypoint come from the last input that sets them.
 */
export async function mergeImages(
  store: ImageStore,
  refs: string[],
  name: string,
  platform?: Platform,
): Promise<{ manifestDescriptor: Descriptor; configDescriptor: Descriptor }> {
  const images = [];
  for (const ref of refs) images.push(await store.image(ref, platform));
  const first = images[0]?.config as ImageConfig;
  const env = new Map<string, string>();
  const labels: Record<string, string> = {};
  const layers: Descriptor[] = [];
  const config: ImageConfig = {
    created: reproducibleCreated(),
    architecture: first.architecture,
    os: first.os,
    ...(first.variant ? { variant: first.variant } : {}),
    config: {},
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
  for (const img of images) {
    const c = img.config.config ?? {};
    for (const e of c.Env ?? []) {
      const eq = e.indexOf('=');
      env.set(eq < 0 ? e : e.slice(0, eq), eq < 0 ? '' : e.slice(eq + 1));
    }
    Object.assign(labels, c.Labels);
    if (c.Cmd?.length) config.config = { ...config.config, Cmd: c.Cmd };
    if (c.Entrypoint?.length) config.config = { ...config.config, Entrypoint: c.Entrypoint };
    layers.push(...img.manifest.layers);
    config.rootfs.diff_ids.push(...img.config.rootfs.diff_ids);
    config.history?.push(...(img.config.history ?? []));
  }
  config.config = { ...config.config, Env: [...env].map(([k, v]) => `${k}=${v}`), Labels: labels };
  config.history?.push({
    created: config.created,
    created_by: `berth merge ${refs.join(' ')}`,
    empty_layer: true,
  });
  const created = new Set<string>();
  try {
    return await writeImage(store, config, layers, name, created);
  } catch (err) {
    await store.discardBlobs(created);
    throw err;
  }
}
