import type { Command } from 'commander';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show an image: platform, labels, env, cmd/entrypoint, layers')
    .argument('<image>', 'image name or id')
    .option('--platform <os/arch[/variant]>', 'platform of a multi-platform image (default: this host)')
    .option('--json', 'print JSON')
    .action(async (image: string, o: { json?: boolean; platform?: string }) => {
      const { ImageStore } = await import('../image/store.js');
      const { inspectImage } = await import('../image/local-images.js');
      const { parsePlatform } = await import('../image/types.js');
      const { formatBytes } = await import('../util/progress.js');
      const { log } = await import('../util/log.js');
      const d = await inspectImage(
        new ImageStore(),
        image,
        o.platform ? parsePlatform(o.platform) : undefined,
      );
      if (o.json) {
        log.out(JSON.stringify(d, null, 2));
        return;
      }
      const list = (v: string[] | undefined) => (v ? JSON.stringify(v) : '-');
      log.out(`Name:        ${d.name}`);
      log.out(`Digest:      ${d.digest}`);
      log.out(`Id:          ${d.id}`);
      log.out(`Platform:    ${d.platform}`);
      log.out(`Created:     ${d.created ?? '-'}`);
      if (d.author) log.out(`Author:      ${d.author}`);
      log.out(`Entrypoint:  ${list(d.entrypoint)}`);
      log.out(`Cmd:         ${list(d.cmd)}`);
      log.out('Labels:');
      for (const [k, v] of Object.entries(d.labels)) log.out(`  ${k}=${v}`);
      log.out('Env:');
      for (const e of d.env) log.out(`  ${e}`);
      log.out(`Layers (${d.layers.length}, ${formatBytes(d.size)}):`);
      for (const l of d.layers) log.out(`  ${l.digest}  ${formatBytes(l.size)}`);
    });
}
