import { join } from 'node:path';
import { exists } from '../../util/local-files.js';
import { shellQuote } from '../../util/shell.js';
import type { ChangePhase } from '../phase.js';

// An application image's registry/ holds the container images its manifests name. They join the cluster
// registry's data (the rootfs' registry/, in the same on-disk layout, so merging is copying files in:
// blobs are named by digest, and a tag link takes the newer app's value) on every registry host, before
// the app's CMD runs. The copy is keyed by the app's digest and the rootfs: a new rootfs replaces the
// registry data, so the apps' images are merged in again.

export const loadAppImages: ChangePhase = {
  title: "add the applications' images to the cluster registry",
  async plan(c) {
    const steps = [];
    for (const app of c.images.apps) {
      const from = join(app.dir, 'registry');
      if (!(await exists(join(from, 'docker')))) continue;
      const staged = `${c.remoteDir}/apps-registry/${app.id}`;
      const data = `${c.remoteRootfs}/registry`;
      for (const h of c.registryHosts)
        steps.push({
          host: h.ip,
          id: `app-registry-${app.id}`,
          description: `merge the images of ${app.image.ref} into ${data}`,
          copies: [{ from, to: staged, what: `images of ${app.image.ref}` }],
          commands: [
            `mkdir -p ${shellQuote(data)} && cp -a ${shellQuote(`${staged}/.`)} ${shellQuote(`${data}/`)}`,
          ],
          inputs: { digest: app.image.manifestDigest, rootfs: c.images.key },
        });
    }
    return { order: 'parallel', steps };
  },
};
