import type { Command } from 'commander';
import { addRegistryFlags, registryOptions } from './registry-flags.js';

export function registerPull(program: Command): void {
  addRegistryFlags(
    program
      .command('pull')
      .description('pull an image from a registry into the local store')
      .argument('<image>', 'image reference, e.g. registry.example.com/team/app:1.0')
      .option(
        '--platform <os/arch[/variant]>',
        'platform to pick from a multi-platform image (default: this host)',
      )
      .option('--all-platforms', 'keep every platform of a multi-platform image'),
  ).action(async (image: string, o) => {
    const { pullImage } = await import('../image/registry/pull.js');
    const { closeDispatchers } = await import('../image/registry/transport.js');
    const { parsePlatform, formatPlatform } = await import('../image/types.js');
    const { formatBytes } = await import('../util/progress.js');
    const { log } = await import('../util/log.js');
    try {
      const r = await pullImage(image, {
        ...registryOptions(o),
        platform: o.platform ? parsePlatform(o.platform) : undefined,
        allPlatforms: !!o.allPlatforms,
      });
      const plat = r.descriptor.platform ? ` (${formatPlatform(r.descriptor.platform)})` : '';
      log.info(`pulled ${r.name}${plat}: ${formatBytes(r.downloaded)} downloaded`);
      log.out(r.descriptor.digest);
    } finally {
      await closeDispatchers();
    }
  });
}
