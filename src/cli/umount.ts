import type { Command } from 'commander';

export function registerUmount(program: Command): void {
  program
    .command('umount')
    .description('remove an unpacked image directory made by berth create or berth mount')
    .argument('<name>', 'mount name (the last part of the printed path)')
    .action(async (name: string) => {
      const { removeMount } = await import('../image/mount.js');
      await removeMount(name);
    });
}
