import type { Command } from 'commander';

export function registerTag(program: Command): void {
  program
    .command('tag')
    .description('give a stored image another name')
    .argument('<source>', 'image name or id')
    .argument('<target>', 'new name')
    .action(async (source: string, target: string) => {
      const { ImageStore } = await import('../image/store.js');
      const store = new ImageStore();
      await store.tag(target, await store.resolve(source));
    });
}
