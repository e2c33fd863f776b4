import type { Command } from 'commander';

export function registerPrune(program: Command): void {
  program
    .command('prune')
    .description('delete blobs of the local store that no image name reaches')
    .action(async () => {
      const { ImageStore } = await import('../image/store.js');
      const { formatBytes } = await import('../util/progress.js');
      const { log } = await import('../util/log.js');
      const freed = await new ImageStore().gc();
      log.out(`freed ${formatBytes(freed.bytes)} (${freed.blobs} blobs)`);
    });
}
