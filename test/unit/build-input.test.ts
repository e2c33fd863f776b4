// Bad and unusual build input: symlinks leading out of the context, a context that is no directory, a
// binary Kubefile, huge ARG values, unknown platforms, instructions berth refuses, buildah's word rules.
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildImage } from '../../src/image/build.js';
import { processWord, processWords } from '../../src/image/kubefile/shell-words.js';
import { unpackImage } from '../../src/image/mount.js';
import { ImageStore } from '../../src/image/store.js';
import { runBerth } from '../helpers/run-berth.js';

async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 't-binput-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return { dir, store: new ImageStore(join(dir, 'store')) };
}

async function ctxWith(dir: string, kubefile: string): Promise<string> {
  const ctx = join(dir, `ctx-${Math.random().toString(36).slice(2)}`);
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, 'Kubefile'), kubefile);
  return ctx;
}

test('a symlink leading outside the build context fails the build; links inside stay links', async (t) => {
  const { dir, store } = await setup(t);
  const outside = join(dir, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'file'), 'secret');

  const viaDir = await ctxWith(dir, 'FROM scratch\nCOPY dirlink/file /y\n');
  await symlink(outside, join(viaDir, 'dirlink'));
  await assert.rejects(
    buildImage({ contextDir: viaDir, tags: ['t-bi/a:1'], store }),
    (err: Error & { exitCode?: number }) => {
      assert.match(err.message, /^Kubefile:2: dirlink\/file leads outside the build context/);
      assert.equal(err.exitCode, 3);
      return true;
    },
  );

  const relative = await ctxWith(dir, 'FROM scratch\nCOPY etc /etc\n');
  await mkdir(join(relative, 'etc'));
  await symlink('../../outside/file', join(relative, 'etc', 'rel'));
  await assert.rejects(
    buildImage({ contextDir: relative, tags: ['t-bi/b:1'], store }),
    /Kubefile:2: the symlink etc\/rel -> \.\.\/\.\.\/outside\/file leads outside the build context/,
  );

  const inside = await ctxWith(dir, 'FROM scratch\nCOPY etc /etc\n');
  await mkdir(join(inside, 'etc', 'sub'), { recursive: true });
  await writeFile(join(inside, 'etc', 'sub', 'x'), 'x');
  await symlink('sub/x', join(inside, 'etc', 'ok'));
  await buildImage({ contextDir: inside, tags: ['t-bi/c:1'], store });
  const out = join(dir, 'out');
  await unpackImage(store, 't-bi/c:1', out);
  assert.ok((await lstat(join(out, 'etc', 'ok'))).isSymbolicLink());
  assert.equal(await readlink(join(out, 'etc', 'ok')), 'sub/x');
  // Nothing of the failed builds was tagged.
  assert.deepEqual(
    (await store.list()).map((e) => e.name),
    ['docker.io/t-bi/c:1'],
  );
});

test('a context that is a file or missing is named as not a directory (exit 3)', async (t) => {
  const { dir, store } = await setup(t);
  const file = join(dir, 'ctx-file');
  await writeFile(file, 'FROM scratch\n');
  for (const contextDir of [file, join(dir, 'missing')]) {
    await assert.rejects(
      buildImage({ contextDir, file, tags: ['t-bi/d:1'], store }),
      (err: Error & { exitCode?: number }) => {
        assert.equal(err.message, `${contextDir}: build context is not a directory`);
        assert.equal(err.exitCode, 3);
        return true;
      },
    );
  }
});

test('a Kubefile with a byte-order mark and CRLF line ends builds', async (t) => {
  const { dir, store } = await setup(t);
  const ctx = await ctxWith(dir, '\ufeffFROM scratch\r\nLABEL a=1 \\\r\n  b=2\r\n');
  await buildImage({ contextDir: ctx, tags: ['t-bi/bom:1'], store });
  assert.deepEqual((await store.image('t-bi/bom:1')).config.config?.Labels, { a: '1', b: '2' });
});

test('a binary Kubefile is shown as a short escaped excerpt, never raw bytes', async (t) => {
  const { dir, store } = await setup(t);
  const ctx = await ctxWith(dir, '');
  await writeFile(
    join(ctx, 'Kubefile'),
    Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01\x1b[2J'), Buffer.alloc(4000, 0xff)]),
  );
  await assert.rejects(buildImage({ contextDir: ctx, tags: ['t-bi/e:1'], store }), (err: Error) => {
    assert.match(err.message, /^Kubefile: not a text Kubefile/);
    assert.doesNotMatch(err.message, /[\x00-\x08\x0e-\x1f\x7f]/);
    assert.ok(err.message.length < 300, err.message);
    return true;
  });
});

test('ARG and ENV values are bounded with a clear error, and a huge ARG costs little memory', async (t) => {
  const { dir, store } = await setup(t);
  const ctx = await ctxWith(dir, 'FROM scratch\nARG BIG\nENV X=$BIG\n');
  const big = 'x'.repeat(10 << 20);
  const before = process.memoryUsage().rss;
  await assert.rejects(
    buildImage({ contextDir: ctx, tags: ['t-bi/f:1'], store, buildArgs: { BIG: big } }),
    /--build-arg BIG: value is 10485760 bytes; at most 131072/,
  );
  assert.ok(
    process.memoryUsage().rss - before < 200 << 20,
    'a rejected 10 MB ARG must not cost hundreds of MB',
  );
  const inFile = await ctxWith(dir, `FROM scratch\nARG BIG=${'y'.repeat(200 << 10)}\n`);
  await assert.rejects(
    buildImage({ contextDir: inFile, tags: ['t-bi/g:1'], store }),
    /Kubefile:2: ARG BIG is 204800 bytes; at most 131072/,
  );
  const huge = await ctxWith(dir, `FROM scratch\nARG BIG=${'y'.repeat(2 << 20)}\n`);
  await assert.rejects(
    buildImage({ contextDir: huge, tags: ['t-bi/h:1'], store }),
    /Kubefile: 2097\d+ bytes is too large for a Kubefile/,
  );
});

test('--platform with an unknown OS or architecture is a usage error (exit 2)', async (t) => {
  const { dir } = await setup(t);
  const ctx = await ctxWith(dir, 'FROM scratch\n');
  const r = await runBerth(['build', '-t', 't-bi/p:1', '--platform', 'windows/z80', ctx], {
    BERTH_HOME: join(dir, 'home'),
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--platform windows\/z80: unknown architecture "z80"/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test('instructions buildah cannot store in an OCI image are refused with the reason', async (t) => {
  const { dir, store } = await setup(t);
  const cases: Array<[string, RegExp]> = [
    [
      'FROM scratch\nHEALTHCHECK CMD true\n',
      /Kubefile:2: HEALTHCHECK is not supported: the OCI image format has no field/,
    ],
    ['FROM scratch\nONBUILD COPY a /a\n', /Kubefile:2: ONBUILD is not supported/],
    ['FROM scratch\nENV A=${B-x}\n', /Kubefile:2: missing ':' in substitution/],
    ['FROM scratch\nENV A=1 "b"\n', /Kubefile:2: cannot find = in "\\"b\\""/],
    ['FROM scratch\nCOPY --chown=nobody Kubefile /k\n', /Kubefile:2: --chown=nobody: give a numeric UID/],
    ['FROM scratch\nCOPY --mode=1 Kubefile /k\n', /Kubefile:2: COPY has no flag --mode/],
    ['FROM --platform=linux/z80 scratch\n', /Kubefile:1: FROM --platform linux\/z80: unknown architecture/],
  ];
  for (const [kubefile, pattern] of cases) {
    await assert.rejects(
      buildImage({ contextDir: await ctxWith(dir, kubefile), tags: ['t-bi/r:1'], store }),
      pattern,
    );
  }
});

test('word rules: quotes, escapes, modifiers, and splitting after expansion', () => {
  const vars = new Map([
    ['A', 'one'],
    ['S', 'two words'],
    ['E', ''],
  ]);
  const get = (n: string) => vars.get(n);
  assert.equal(
    processWord(`\\$A '$A' "$A" \${A:+set} \${E:-empty} \${NONE:+x}`, get),
    `$A $A one set empty `,
  );
  assert.equal(processWord('"a\\"b\\\\c\\d"', get), 'a"b\\c\\d');
  assert.deepEqual(processWords('$S "$S" x\\ y', get), ['two', 'words', 'two words', 'x y']);
  assert.deepEqual(processWords('""', get), ['']);
});
