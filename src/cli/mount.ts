import type { Command } from 'commander';

export function registerMount(program: Command): void {
  program
    .command('mount')
    .description("print the directory holding an image's files, unpacking it first when needed")
    .argument('<image>', 'image name or id')
    .option('--platform <os/arch[/variant]>', 'platform of a multi-platform image (default: this host)')
    .action(async (image: string, o: { platform?: string }) => {
      const { ImageStore } = await import('../image/store.js');
      const { createMount } = await import('../image/mount.js');
      const { parsePlatform } = await import('../image/types.js');
      const { log } = await import('../util/log.js');
      const platform = o.platform ? parsePlatform(o.platform) : undefined;
      log.out(await createMount(new ImageStore(), image, undefined, { reuse: true, platform }));
    });
}
