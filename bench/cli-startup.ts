// Compares `berth --version` start-up with a bare `node -e 0`, the floor any Node CLI pays, for
// ./bin/berth (target: at most 2x node) and, when it has been made (`npm run package`), the single file
// berth-linux-<arch> (target: at most 1.2x node). Medians over many runs, measured alternately.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/berth', import.meta.url));
const arch = process.arch === 'x64' ? 'amd64' : process.arch;
const single = process.env.BERTH_BIN || fileURLToPath(new URL(`../../berth-linux-${arch}`, import.meta.url));
const haveSingle = existsSync(single);
const runs = Number(process.env.BENCH_RUNS ?? 30);

function time(cmd: string, args: string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const node: number[] = [];
const berth: number[] = [];
const help: number[] = [];
const file: number[] = [];
const fileHelp: number[] = [];
time(process.execPath, [bin, '--version']);
if (haveSingle) time(single, ['--version']);
for (let i = 0; i < runs; i++) {
  node.push(time(process.execPath, ['-e', '0']));
  berth.push(time(process.execPath, [bin, '--version']));
  help.push(time(process.execPath, [bin, '--help']));
  if (haveSingle) {
    file.push(time(single, ['--version']));
    fileHelp.push(time(single, ['--help']));
  }
}
const n = median(node);
const line = (what: string, xs: number[], target?: string) =>
  console.log(
    `${what.padEnd(28)} ${median(xs).toFixed(1)} ms  ratio ${(median(xs) / n).toFixed(2)}${target ? ` (target <= ${target})` : ''}`,
  );
console.log(`${'node -e 0'.padEnd(28)} ${n.toFixed(1)} ms (median of ${runs})`);
line('bin/berth --version', berth, '2.00');
line('bin/berth --help', help);
if (haveSingle) {
  line('single file --version', file, '1.20');
  line('single file --help', fileHelp);
  console.log(`single file: ${single}, ${(statSync(single).size / 1024 / 1024).toFixed(1)} MiB`);
} else {
  console.log(`single file: ${single} not found (make it with: npm run package)`);
}
