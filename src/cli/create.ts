import type { Command } from 'commander';

export function registerCreate(program: Command): void {
  program
    .command('create')
    .description("unpack an image's files into a directory under ~/.berth/mounts and print its path")
    .argument('<image>', 'image name or id')
    .option('--name <name>', 'mount name (default: from the image name)')
    .option('--platform <os/arch[/variant]>', 'platform of a multi-platform image (default: this host)')
    .action(async (image: string, o: { name?: string; platform?: string }) => {
      const { ImageStore } = await import('../image/store.js');
      const { createMount } = await import('../image/mount.js');
      const { parsePlatform } = await import('../image/types.js');
      const { log } = await import('../util/log.js');
      const platform = o.platform ? parsePlatform(o.platform) : undefined;
      log.out(await createMount(new ImageStore(), image, o.name, { platform }));
    });
}
