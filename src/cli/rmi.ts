import type { Command } from 'commander';

export function registerRmi(program: Command): void {
  program
    .command('rmi')
    .description('remove image names from the local store and free the blobs nothing else uses')
    .argument('<images...>', 'image names or ids (an id removes every name of that image)')
    .action(async (images: string[]) => {
      const { ImageStore } = await import('../image/store.js');
      const { removeImages } = await import('../image/local-images.js');
      const { formatBytes } = await import('../util/progress.js');
      const { log } = await import('../util/log.js');
      const store = new ImageStore();
      for (const name of await removeImages(store, images)) log.out(`untagged ${name}`);
      const freed = await store.gc();
      log.info(`freed ${formatBytes(freed.bytes)} (${freed.blobs} blobs)`);
    });
}
