import type { Command } from 'commander';
import { addRegistryFlags, registryOptions } from './registry-flags.js';

const collect = (v: string, acc: string[]) => [...acc, v];

export function registerBuild(program: Command): void {
  const build = program
    .command('build')
    .description('build a cluster image from a Kubefile (a Dockerfile dialect without RUN)')
    .argument('[context]', 'build context directory', '.')
    .option('-f, --file <path>', 'Kubefile (default: Sealfile, Kubefile or Dockerfile in the context)')
    .option('-t, --tag <name>', 'name of the image (repeatable)', collect, [])
    .option('--build-arg <K=V>', 'set a build argument (repeatable)', collect, [])
    .option('--label <K=V>', 'set a label on the image after the Kubefile ran (repeatable)', collect, [])
    .option(
      '--env <K=V>',
      'set an env variable on the image after the Kubefile ran (repeatable)',
      collect,
      [],
    )
    .option(
      '--platform <os/arch[,os/arch...]>',
      'platforms to build, repeatable or comma-separated; several make one index (default: this host)',
      collect,
      [],
    )
    .option('--compression <gzip|zstd>', 'compression of new layers', 'gzip')
    .option('--compression-level <n>', 'level of new layers (gzip 1-9, default 1; zstd 1-19, default 3)')
    .option('--pull [policy]', 'pull FROM images: always (the flag alone), missing, never (default)')
    .option('--no-cache', 'accepted for buildah compatibility: berth keeps no build cache')
    .option('--save-image <bool>', 'save the images the context names into CONTEXT/registry/', 'true')
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
        label: string[];
        env: string[];
        platform: string[];
        compression: string;
        compressionLevel?: string;
        pull?: string | boolean;
        saveImage: string;
        maxPullProcs: string;
        authfile?: string;
        insecureRegistry?: string[];
        caFile?: string;
        registriesConf?: string;
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
      for (const [flag, list] of [
        ['--label', o.label],
        ['--env', o.env],
      ] as const) {
        for (const spec of list)
          if (spec === '' || spec.startsWith('=')) throw new UsageError(`${flag} ${spec}: want KEY=VALUE`);
      }
      if (o.compression !== 'gzip' && o.compression !== 'zstd')
        throw new UsageError(`--compression ${o.compression}: want gzip or zstd`);
      const maxLevel = o.compression === 'zstd' ? 19 : 9;
      const level = o.compressionLevel === undefined ? undefined : Number(o.compressionLevel);
      if (level !== undefined && (!Number.isInteger(level) || level < 1 || level > maxLevel))
        throw new UsageError(`--compression-level wants 1 to ${maxLevel} for ${o.compression}`);
      const maxPullProcs = Number(o.maxPullProcs);
      if (!Number.isInteger(maxPullProcs) || maxPullProcs < 1)
        throw new UsageError('--max-pull-procs wants a whole number above 0');
      if (o.saveImage !== 'true' && o.saveImage !== 'false')
        throw new UsageError(`--save-image ${o.saveImage}: want true or false`);
      const pull = o.pull === undefined ? 'never' : o.pull === true ? 'always' : o.pull;
      if (pull !== 'always' && pull !== 'missing' && pull !== 'never')
        throw new UsageError(`--pull ${pull}: want always, missing or never`);
      const platforms = o.platform.flatMap((p) => p.split(',')).map((p) => parsePlatform(p.trim()));
      const { saveContextImages } = await import('../image/registry-dir.js');
      const { closeDispatchers } = await import('../image/registry/transport.js');
      const { pullImage } = await import('../image/registry/pull.js');
      const registry = registryOptions(o);
      // Every image the context names is saved into CONTEXT/registry before the layers are packed.
      const beforeLayers =
        o.saveImage === 'true'
          ? (dir: string, forPlatforms: import('../image/types.js').Platform[]) =>
              saveContextImages(dir, { ...registry, platforms: forPlatforms, maxPullProcs }).then(
                () => undefined,
              )
          : undefined;
      try {
        const r = await buildImage({
          contextDir: context,
          file: o.file,
          tags: o.tag,
          buildArgs,
          labels: o.label,
          env: o.env,
          platforms,
          compression: o.compression,
          level,
          pull,
          pullBase: async (ref, platform) => {
            log.info(`pulling ${ref}`);
            await pullImage(ref, { ...registry, platform });
          },
          beforeLayers,
        });
        log.info(`built ${o.tag.join(', ')}`);
        log.out(r.manifestDescriptor.digest);
      } finally {
        await closeDispatchers();
      }
    },
  );
}
