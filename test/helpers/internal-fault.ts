// Loaded with `node --import` into a real berth process, so that berth meets an error none of its code
// anticipated (what a bug looks like from outside) and the CLI's last resort, exit 1 with one line and a
// hint to run with --debug, can be checked end to end. Reading the file BERTH_TEST_FAULT_FILE names
// throws a plain TypeError.
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';

const target = process.env.BERTH_TEST_FAULT_FILE;
const readFile = fsp.readFile;
fsp.readFile = ((path: Parameters<typeof readFile>[0], ...rest: unknown[]) => {
  if (target && String(path) === target) throw new TypeError(`injected fault reading ${target}`);
  return (readFile as (...a: unknown[]) => unknown)(path, ...rest);
}) as typeof readFile;
syncBuiltinESMExports();
