import type { Command } from 'commander';

export function registerLoad(program: Command): void {
  program
    .command('load')
    .description('load the images of an oci-archive or docker-archive file into the local store')
    .requiredOption('-i, --input <file>', 'archive to read (format detected)')
    .action(async (o: { input: string }) => {
      const { ImageStore } = await import('../image/store.js');
      const { loadImages } = await import('../image/archive.js');
      const { log } = await import('../util/log.js');
      for (const name of await loadImages(new ImageStore(), o.input)) log.out(`loaded ${name}`);
    });
}
