import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runBerth } from '../helpers/run-berth.js';

// Bad input on the command line: one line naming the flag, file or name, with the README's exit code.
// Each case runs a real berth process; none needs a host.

function home(t: import('node:test').TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 't-cli-input-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function expectFailure(dir: string, args: string[], code: number, message: RegExp): Promise<void> {
  const r = await runBerth(args, { BERTH_HOME: dir });
  assert.equal(r.code, code, `berth ${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, message, `berth ${args.join(' ')}`);
  assert.equal(r.stderr.trim().split('\n').length, 1, `berth ${args.join(' ')}: one line: ${r.stderr}`);
}

test('exec and scp: a port outside 1-65535, or --port with --sandbox, is a usage error', async (t) => {
  const dir = home(t);
  const file = join(dir, 'f');
  writeFileSync(file, 'x');
  await expectFailure(
    dir,
    ['exec', '--hosts', '10.0.0.2', '--port', '70000', '--', 'true'],
    2,
    /--port 70000/,
  );
  await expectFailure(
    dir,
    ['scp', '--hosts', '10.0.0.2', '--port', '70000', file, ':/tmp/'],
    2,
    /--port 70000/,
  );
  await expectFailure(dir, ['exec', '--sandbox', 'nope', '--port', '70000', '--', 'true'], 2, /--port 70000/);
  await expectFailure(
    dir,
    ['exec', '--sandbox', 'nope', '--port', '2222', '--', 'true'],
    2,
    /--port applies to --hosts/,
  );
});
