// Entry point of the k3s v1.28 stand-in: multicall dispatch, the urfave/cli app surface, and the commands.
import { basename } from 'node:path';
import { runAgent } from './agent-run.js';
import { generateBootstrapToken } from './cluster-token.js';
import { ConfigFileError, loadCommandFlags } from './config-file.js';
import { agentFlags, commandHelp, type FlagDef, flag, serverFlags, str, UsageError } from './flag-set.js';
import { runServer } from './server-run.js';
import { fatal, klog, setLogFile, setStandinDebug } from './standin-log.js';
import { K3S_COMMIT, K3S_GO_VERSION, K3S_VERSION } from './standin-paths.js';
import { runTool } from './tool-passthrough.js';

const commands: [string, string][] = [
  ['server', 'Run management server'],
  ['agent', 'Run node agent'],
  ['kubectl', 'Run kubectl'],
  ['crictl', 'Run crictl'],
  ['ctr', 'Run ctr'],
  ['check-config', 'Run config check'],
  ['token', 'Manage bootstrap tokens'],
  ['etcd-snapshot', 'Manage etcd snapshots'],
  ['secrets-encrypt', 'Control secrets encryption and keys rotation'],
  ['certificate', 'Manage K3s certificates'],
  ['completion', 'Install shell completion script'],
];

function appHelp(): string {
  const rows = [...commands, ['help, h', 'Shows a list of commands or help for one command']];
  return [
    'NAME:',
    '   k3s - Kubernetes, but small and simple',
    '',
    'USAGE:',
    '   k3s [global options] command [command options] [arguments...]',
    '',
    'VERSION:',
    `   ${K3S_VERSION} (${K3S_COMMIT})`,
    '',
    'COMMANDS:',
    ...rows.map(([n, d]) => `   ${n.padEnd(17)}${d}`),
    '',
    'GLOBAL OPTIONS:',
    '   --debug                     (logging) Turn on debug logs [$K3S_DEBUG]',
    '   --data-dir value, -d value  (data) Folder to hold state (default: /var/lib/rancher/k3s or ${HOME}/.rancher/k3s if not root) [$K3S_DATA_DIR]',
    '   --help, -h                  show help',
    '   --version, -v               print the version',
    '',
  ].join('\n');
}

function runCommand(name: 'server' | 'agent', defs: FlagDef[], summary: string, args: string[]): void {
  let parsed: ReturnType<typeof loadCommandFlags>;
  try {
    parsed = loadCommandFlags(defs, args, name === 'server');
  } catch (e) {
    if (e instanceof UsageError) {
      process.stdout.write(`Incorrect Usage: ${e.message}\n\n${commandHelp(name, summary, defs)}`);
      fatal(e.message);
    }
    if (e instanceof ConfigFileError) fatal(e.message);
    throw e;
  }
  if (parsed.help) {
    process.stdout.write(commandHelp(name, summary, defs));
    process.exit(0);
  }
  if (parsed.positional.length) fatal('this command does not take any arguments');
  setStandinDebug(flag(parsed.values, 'debug'));
  const logFile = str(parsed.values, 'log');
  if (logFile) setLogFile(logFile, flag(parsed.values, 'alsologtostderr'));
  const run = name === 'server' ? runServer(parsed.values, args) : runAgent(parsed.values, args);
  run.catch((e: Error) => fatal(e.message));
}

function unsupported(command: string, sub: string | undefined): never {
  process.stderr.write(`k3s: "${command}${sub ? ` ${sub}` : ''}" is not provided by the k3s test stand-in\n`);
  process.exit(1);
}

function main() {
  const invoked = basename(process.env.BERTH_STANDIN_ARGV0 || process.argv[1] || 'k3s');
  const argv = process.argv.slice(2);
  if (invoked === 'kubectl' || invoked === 'crictl' || invoked === 'ctr') return runTool(invoked, argv);
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    const a = argv[i];
    if (a === '--version' || a === '-v' || a === '-version') {
      process.stdout.write(`k3s version ${K3S_VERSION} (${K3S_COMMIT})\ngo version ${K3S_GO_VERSION}\n`);
      return process.exit(0);
    }
    if (a === '--help' || a === '-h' || a === '-help') {
      process.stdout.write(appHelp());
      return process.exit(0);
    }
    if (a === '--debug' || a === '-debug') {
      setStandinDebug(true);
      continue;
    }
    if (/^--?(data-dir|d)$/.test(a)) {
      i++;
      continue;
    }
    if (/^--?(data-dir|d)=/.test(a)) continue;
    const shown = a.replace(/^--?/, '').split('=')[0];
    process.stdout.write(`Incorrect Usage. flag provided but not defined: -${shown}\n\n${appHelp()}`);
    fatal(`flag provided but not defined: -${shown}`);
  }
  const command = argv[i];
  const rest = argv.slice(i + 1);
  switch (command) {
    case undefined:
      process.stdout.write(appHelp());
      return;
    case 'server':
      return runCommand('server', serverFlags, 'Run management server', rest);
    case 'agent':
      return runCommand('agent', agentFlags, 'Run node agent', rest);
    case 'kubectl':
    case 'crictl':
    case 'ctr':
      return runTool(command, rest);
    case 'check-config':
      process.stdout.write(
        'Verifying binaries in the k3s stand-in:\n- sha256sum: good\n- links: good\n\nSystem:\n- node: good\n- openssl: good\n\nSTATUS: pass\n',
      );
      return;
    case 'token':
      if (rest[0] === 'generate') {
        process.stdout.write(`${generateBootstrapToken()}\n`);
        return;
      }
      return unsupported(command, rest[0]);
    case 'help':
    case 'h':
      process.stdout.write(appHelp());
      return;
    default:
      if (commands.some(([n]) => n === command)) return unsupported(command, rest[0]);
      process.stderr.write(`No help topic for '${command}'\n`);
      klog.debug(`unknown command ${command}`);
      process.exit(3);
  }
}

main();
