import type { Command } from 'commander';
import { addRegistryFlags, registryOptions } from './registry-flags.js';

export function registerPush(program: Command): void {
  addRegistryFlags(
    program
      .command('push')
      .description('push an image from the local store to a registry')
      .argument('<image>', 'stored image name')
      .argument('[destination]', 'reference to push to (default: the image name)'),
  ).action(async (image: string, destination: string | undefined, o) => {
    const { pushImage } = await import('../image/registry/push.js');
    const { closeDispatchers } = await import('../image/registry/transport.js');
    const { formatBytes } = await import('../util/progress.js');
    const { log } = await import('../util/log.js');
    try {
      const r = await pushImage(image, destination, registryOptions(o));
      log.info(`pushed ${r.name}: ${formatBytes(r.uploaded)} uploaded`);
      log.out(r.digest);
    } finally {
      await closeDispatchers();
    }
  });
}
