import type { Command } from 'commander';
import type { RegistryOptions } from '../image/registry/client.js';

// Flags every command that talks to a registry shares, and their translation to client options.

export function addRegistryFlags(cmd: Command): Command {
  return cmd
    .option(
      '--authfile <path>',
      'docker config.json holding credentials (default $DOCKER_CONFIG/config.json)',
    )
    .option(
      '--insecure-registry <host>',
      'allow plain HTTP / unverified TLS for this registry (repeatable; also BERTH_INSECURE_REGISTRIES)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--ca-file <path>', 'PEM file of extra CAs to trust (besides /etc/docker/certs.d/<host>/*.crt)')
    .option(
      '--registries-conf <file>',
      'containers-registries.conf (v2) for mirrors, blocked registries and search registries (default /etc/containers/registries.conf and registries.conf.d/)',
    );
}

export function registryOptions(opts: {
  authfile?: string;
  insecureRegistry?: string[];
  caFile?: string;
  registriesConf?: string;
}): RegistryOptions {
  return {
    authfile: opts.authfile,
    insecureRegistries: opts.insecureRegistry ?? [],
    caFile: opts.caFile,
    registriesConf: opts.registriesConf,
  };
}
