// Compares `berth --version` start-up with a bare `node -e 0`, the floor any Node CLI pays.
// Target: berth at most 2x node. Prints medians over many runs, measured alternately in one process.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/berth', import.meta.url));
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
time(process.execPath, [bin, '--version']);
for (let i = 0; i < runs; i++) {
  node.push(time(process.execPath, ['-e', '0']));
  berth.push(time(process.execPath, [bin, '--version']));
  help.push(time(process.execPath, [bin, '--help']));
}
const n = median(node);
const b = median(berth);
const h = median(help);
console.log(`node -e 0:       ${n.toFixed(1)} ms (median of ${runs})`);
console.log(`berth --version: ${b.toFixed(1)} ms  ratio ${(b / n).toFixed(2)} (target <= 2.00)`);
console.log(`berth --help:    ${h.toFixed(1)} ms  ratio ${(h / n).toFixed(2)}`);
