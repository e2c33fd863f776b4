import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startLoopbackSshd } from '../helpers/loopback-sshd.js';
import { interruptBerth } from '../helpers/run-berth.js';

// One Ctrl-C (a real SIGINT to a real berth process) stops `berth scp` to a real sshd on 127.0.0.1:
// exit 130, `interrupted`, and on the host neither a half-copied file nor a temp or staging file.

const big = 8 * 1024 ** 3;

function list(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** True once `dir` holds an entry matching `pattern` whose file `below` (or itself) has content. */
function hasContent(dir: string, pattern: RegExp, below = ''): boolean {
  return list(dir).some((name) => {
    if (!pattern.test(name)) return false;
    const path = join(dir, name, below);
    return existsSync(path) && statSync(path).size > 0;
  });
}

test('Ctrl-C stops berth scp of a file and of a tree, leaving nothing on the host', async (t) => {
  const sshd = await startLoopbackSshd(t);
  const work = mkdtempSync(join(tmpdir(), 't-interrupt-scp-'));
  const remote = `/tmp/t-interrupt-scp-${sshd.port}`;
  t.after(() => {
    rmSync(work, { recursive: true, force: true });
    rmSync(remote, { recursive: true, force: true });
  });
  const tree = join(work, 'tree');
  mkdirSync(tree);
  writeFileSync(join(tree, 'big'), '');
  truncateSync(join(tree, 'big'), big);
  mkdirSync(remote);
  const env = { BERTH_HOME: join(work, 'home') };
  const hosts = ['--hosts', `127.0.0.1:${sshd.port}`, '-i', sshd.keyPath];

  await t.test('one file', async () => {
    const r = await interruptBerth(['scp', ...hosts, join(tree, 'big'), `:${remote}/`], env, () =>
      hasContent(remote, /^\.big\.berth\./),
    );
    assert.ok(r.signalled, `scp ended before the copy was under way: ${r.stderr}`);
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted/);
    // The host's shell gets a moment to run its clean-up after the kill.
    for (let i = 0; i < 50 && list(remote).length > 0; i++) await new Promise((res) => setTimeout(res, 100));
    assert.deepEqual(list(remote), []);
  });

  await t.test('a tree', async () => {
    const r = await interruptBerth(['scp', ...hosts, tree, `:${remote}/`], env, () =>
      hasContent(remote, /^\.berth-stage\./, 't/big'),
    );
    assert.ok(r.signalled, `scp ended before the copy was under way: ${r.stderr}`);
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted/);
    for (let i = 0; i < 50 && list(remote).length > 0; i++) await new Promise((res) => setTimeout(res, 100));
    assert.deepEqual(list(remote), []);
  });
});
