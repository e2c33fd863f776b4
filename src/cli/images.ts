import type { Command } from 'commander';

export function registerImages(program: Command): void {
  program
    .command('images')
    .description('list the images in the local store')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const { ImageStore } = await import('../image/store.js');
      const { listImages } = await import('../image/local-images.js');
      const { formatBytes } = await import('../util/progress.js');
      const { log } = await import('../util/log.js');
      const { formatTable } = await import('./table.js');
      const rows = await listImages(new ImageStore());
      if (o.json) {
        log.out(JSON.stringify(rows, null, 2));
        return;
      }
      const table = [
        ['NAME', 'ID', 'SIZE', 'CREATED'],
        ...rows.map((r) => [r.name, r.id.slice(7, 19), formatBytes(r.size), r.created ?? '']),
      ];
      for (const line of formatTable(table)) log.out(line);
    });
}
