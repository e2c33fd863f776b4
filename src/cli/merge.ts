import type { Command } from 'commander';

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('make one image of several: their files in order (later wins), labels and env merged')
    .argument('<images...>', 'image names or ids')
    .requiredOption('-t, --tag <name>', 'name of the merged image')
    .option('--platform <os/arch[/variant]>', 'platform of multi-platform inputs (default: this host)')
    .action(async (images: string[], o: { tag: string; platform?: string }) => {
      const { ImageStore } = await import('../image/store.js');
      const { mergeImages } = await import('../image/merge.js');
      const { parsePlatform } = await import('../image/types.js');
      const { log } = await import('../util/log.js');
      const r = await mergeImages(
        new ImageStore(),
        images,
        o.tag,
        o.platform ? parsePlatform(o.platform) : undefined,
      );
      log.out(r.manifestDescriptor.digest);
    });
}
