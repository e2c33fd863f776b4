import type { Command } from 'commander';
import { addRegistryFlags, registryOptions } from './registry-flags.js';

export function registerBuild(program: Command): void {
  const build = program
    .command('build')
    .description('build a cluster image from a Kubefile (a Dockerfile dialect without RUN)')
    .argument('[context]', 'build context directory', '.')
    .option('-f, --file <path>', 'Kubefile (default: Sealfile, Kubefile or Dockerfile in the context)')
    .option(
      '-t, --tag <name>',
      'name of the image (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option(
      '--build-arg <K=V>',
      'set a build argument (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option('--platform <os/arch[/variant]>', 'platform of the image and its base (default: this host)')
    .option('--compression-level <1-9>', 'gzip level of new layers', '1')
    .option(
      '--max-pull-procs <n>',
      'images pulled at once when saving images/shim, manifests/ and charts/',
      '5',
    );
  addRegistryFlags(build).action(
    async (
      context: string,
      o: {
        file?: string;
        tag: string[];
        buildArg: string[];
        platform?: string;
        compressionLevel: string;
        maxPullProcs: string;
        authfile?: string;
        insecureRegistry?: string[];
        caFile?: string;
      },
    ) => {
      const { UsageError } = await import('../util/errors.js');
      const { buildImage } = await import('../image/build.js');
      const { parsePlatform } = await import('../image/types.js');
      const { log } = await import('../util/log.js');
      if (o.tag.length === 0) throw new UsageError('build needs -t NAME');
      const buildArgs: Record<string, string> = {};
      for (const a of o.buildArg) {
        const eq = a.indexOf('=');
        if (eq <= 0) throw new UsageError(`--build-arg ${a}: want KEY=VALUE`);
        buildArgs[a.slice(0, eq)] = a.slice(eq + 1);
      }
      const level = Number(o.compressionLevel);
      if (!Number.isInteger(level) || level < 1 || level > 9)
        throw new UsageError('--compression-level wants 1 to 9');
      const maxPullProcs = Number(o.maxPullProcs);
      if (!Number.isInteger(maxPullProcs) || maxPullProcs < 1)
        throw new UsageError('--max-pull-procs wants a whole number above 0');
      const { hostPlatform } = await import('../image/types.js');
      const { saveContextImages } = await import('../image/registry-dir.js');
      const { closeDispatchers } = await import('../image/registry/transport.js');
      const platform = o.platform ? parsePlatform(o.platform) : undefined;
      // Every image the context names is saved into CONTEXT/registry before the layers are packed.
      const beforeLayers = async (dir: string) => {
        try {
          await saveContextImages(dir, {
            ...registryOptions(o),
            platforms: [platform ?? hostPlatform()],
            maxPullProcs,
          });
        } finally {
          await closeDispatchers();
        }
      };
      const r = await buildImage({
        contextDir: context,
        file: o.file,
        tags: o.tag,
        buildArgs,
        platform,
        level,
        beforeLayers,
      });
      log.info(`built ${o.tag.join(', ')}`);
      log.out(r.manifestDescriptor.digest);
    },
  );
}
