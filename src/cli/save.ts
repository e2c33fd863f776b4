import type { Command } from 'commander';

export function registerSave(program: Command): void {
  program
    .command('save')
    .description('write images from the local store into an archive file')
    .argument('<images...>', 'image names or ids')
    .requiredOption('-o, --output <file>', 'archive to write')
    .option('--format <format>', 'oci-archive or docker-archive', 'oci-archive')
    .option('--platform <os/arch[/variant]>', 'platform for docker-archive of a multi-platform image')
    .action(async (images: string[], o: { output: string; format: string; platform?: string }) => {
      const { UsageError } = await import('../util/errors.js');
      const { ImageStore } = await import('../image/store.js');
      const { saveImages } = await import('../image/archive.js');
      const { parsePlatform } = await import('../image/types.js');
      if (o.format !== 'oci-archive' && o.format !== 'docker-archive') {
        throw new UsageError(`--format ${o.format}: want oci-archive or docker-archive`);
      }
      await saveImages(
        new ImageStore(),
        images,
        o.output,
        o.format,
        o.platform ? parsePlatform(o.platform) : undefined,
      );
    });
}
