// Node 20's test runner takes no globs, and its directory discovery would also pick up helper modules
// under dist/test/, so the test files are listed here: every *.test.js below the given folders.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const dirs = process.argv.slice(2);
const files = dirs.flatMap((d) => collect(d, []));
const only = process.env.BERTH_TEST_ONLY;
const chosen = only ? files.filter((f) => f.includes(only)) : files;
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=1', '--test-timeout=1200000', ...chosen],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
