import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

test('a directory where a file is wanted: gen -o, save -o, load -i give one line and exit 3', async (t) => {
  const dir = home(t);
  await expectFailure(
    dir,
    ['gen', 't/x:1', '--masters', '10.0.0.2', '-o', dir],
    3,
    /is a directory; give a file path/,
  );
  await expectFailure(dir, ['load', '-i', dir], 3, /is a directory; give a file path for the archive/);
  const ctx = join(dir, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Kubefile'), 'FROM scratch\nLABEL a=1\n');
  assert.equal((await runBerth(['build', '-t', 't/x:1', ctx], { BERTH_HOME: dir })).code, 0);
  await expectFailure(
    dir,
    ['save', 't/x:1', '-o', dir],
    3,
    /is a directory; give a file path for the archive/,
  );
});
