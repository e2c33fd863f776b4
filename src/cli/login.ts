import type { Command } from 'commander';
import { addRegistryFlags, registryOptions } from './registry-flags.js';

/** `https://host:5000/v2/` and `host:5000` both name the registry `host:5000`. */
function registryHost(arg: string): string {
  const host = arg.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += (chunk as Buffer).toString('utf8');
  return text.replace(/\r?\n$/, '');
}

export function registerLogin(program: Command): void {
  addRegistryFlags(
    program
      .command('login')
      .description('check credentials against a registry and save them in the docker config.json')
      .argument('<registry>', 'registry host[:port]')
      .option('-u, --username <user>', 'user name')
      .option('-p, --password <password>', 'password (visible in the process list: prefer --password-stdin)')
      .option('--password-stdin', 'read the password from standard input'),
  ).action(async (arg: string, o) => {
    const { UsageError } = await import('../util/errors.js');
    const { log, registerSecret } = await import('../util/log.js');
    if (!o.username) throw new UsageError('login: pass -u USER');
    if (o.password && o.passwordStdin)
      throw new UsageError('login: -p and --password-stdin exclude each other');
    const password: string = o.passwordStdin ? await readStdin() : (o.password ?? '');
    if (!password) throw new UsageError('login: pass --password-stdin (or -p PASSWORD)');
    registerSecret(password);
    if (o.password) log.warn('a password given with -p is visible to other users; prefer --password-stdin');
    const registry = registryHost(arg);
    const { RegistryClient } = await import('../image/registry/client.js');
    const { storeCredentials } = await import('../image/registry/credentials.js');
    const { closeDispatchers } = await import('../image/registry/transport.js');
    const credentials = { username: o.username as string, password };
    try {
      await new RegistryClient(registry, { ...registryOptions(o), credentials }).ping();
    } finally {
      await closeDispatchers();
    }
    const where = await storeCredentials(registry, credentials, o.authfile);
    log.info(`login succeeded: credentials for ${registry} saved in ${where}`);
  });
}

export function registerLogout(program: Command): void {
  program
    .command('logout')
    .description('remove the saved credentials of a registry')
    .argument('<registry>', 'registry host[:port]')
    .option(
      '--authfile <path>',
      'docker config.json holding credentials (default $DOCKER_CONFIG/config.json)',
    )
    .action(async (arg: string, o) => {
      const { removeCredentials } = await import('../image/registry/credentials.js');
      const { NotFoundError } = await import('../util/errors.js');
      const { log } = await import('../util/log.js');
      const registry = registryHost(arg);
      if (!(await removeCredentials(registry, o.authfile)))
        throw new NotFoundError(`no saved credentials for ${registry}`);
      log.info(`removed the credentials of ${registry}`);
    });
}
