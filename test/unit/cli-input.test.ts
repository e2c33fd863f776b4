import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
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

test('one rule for exit codes: a bad address is 2, a missing input file 3, an unreachable host 5', async (t) => {
  const dir = home(t);
  await expectFailure(
    dir,
    ['exec', '--hosts', '10.210.253.300', '--', 'true'],
    2,
    /10\.210\.253\.300 is not a valid IPv4/,
  );
  await expectFailure(dir, ['load', '-i', join(dir, 'missing.tar')], 3, /missing\.tar: no such archive/);
  await expectFailure(dir, ['apply', '-f', join(dir, 'Clusterfile')], 3, /Clusterfile: no such Clusterfile/);
  await expectFailure(
    dir,
    ['scp', '--hosts', '10.0.0.2', join(dir, 'missing'), ':/tmp/'],
    3,
    /missing: no such local file/,
  );
  // nothing listens on the port of a server that has just closed
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  const r = await runBerth(['exec', '--hosts', `127.0.0.1:${port}`, '-p', 'x', '--', 'true'], {
    BERTH_HOME: dir,
  });
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /connection refused/);
});

test('cert: --alt-names with a bad name is 2, no subcommand nor --alt-names is 2, an unknown cluster is 9', async (t) => {
  const dir = home(t);
  await expectFailure(
    dir,
    ['cert', '--alt-names', 'ok.example.test,no space', '--cluster', 'c1'],
    2,
    /--alt-names: "no space" is neither an IP address nor a DNS name/,
  );
  await expectFailure(
    dir,
    ['cert', '--cluster', 'c1'],
    2,
    /give --alt-names A,B or a subcommand \(check, renew\)/,
  );
  for (const args of [
    ['cert', '--alt-names', '192.0.2.1', '--cluster', 'c1'],
    ['cert', 'renew', '--cluster', 'c1'],
    ['cert', 'check', '--cluster', 'c1', '--json'],
  ])
    await expectFailure(dir, args, 9, /cluster c1 does not exist/);
});
