import type { Command } from 'commander';
import type { RunArgs } from '../clusterfile/from-run-args.js';

// The flags that describe a cluster on the command line, shared by `berth run` and `berth gen`
// (sealos-compatible names).

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export interface RunFlagValues {
  masters?: string;
  nodes?: string;
  user?: string;
  passwd?: string;
  pk?: string;
  pkPasswd?: string;
  port?: string;
  env: string[];
  cmd: string[];
  cluster: string;
}

export function addRunFlags(command: Command): Command {
  return command
    .argument('<images...>', 'cluster images, the rootfs image first')
    .option('--masters <ips>', 'master addresses: a comma list, ranges like 10.0.0.2-10.0.0.4, ip:port')
    .option('--nodes <ips>', 'worker addresses, written like --masters')
    .option('-u, --user <user>', 'SSH user (default root)')
    .option('-p, --passwd <password>', 'SSH password')
    .option('-i, --pk <file>', 'SSH private key file')
    .option('--pk-passwd <passphrase>', 'passphrase of the private key')
    .option('--port <port>', 'SSH port (default 22)')
    .option('-e, --env <KEY=VALUE>', 'environment for the images (repeatable)', collect, [])
    .option('--cmd <command>', "replace the first image's CMD (repeatable)", collect, [])
    .option('--cluster <name>', 'cluster name', 'default');
}

export function runArgsFromFlags(images: string[], flags: RunFlagValues): RunArgs {
  return {
    images,
    masters: flags.masters,
    nodes: flags.nodes,
    user: flags.user,
    password: flags.passwd,
    keyPath: flags.pk,
    keyPassphrase: flags.pkPasswd,
    port: flags.port,
    env: flags.env,
    cmd: flags.cmd,
    cluster: flags.cluster,
  };
}
