import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { link, lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import tarStream from 'tar-stream';
import { newBudget, openLayer, unpackLayer, unpackLayers } from '../../src/image/layer-unpack.js';
import { collectTree, writeLayer } from '../../src/image/layer-write.js';
import { ImageStore } from '../../src/image/store.js';

async function tempDir(
  t: { after: (fn: () => Promise<void>) => void },
  prefix = 't-layer-',
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

type Entry = {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  body?: string;
  linkname?: string;
};

/** A hand-made tar, for archives no well-behaved writer would produce. */
async function makeTar(entries: Entry[]): Promise<Readable> {
  const pack = tarStream.pack();
  for (const e of entries) {
    if (e.type === 'file' || e.type === undefined) pack.entry({ name: e.name, mode: 0o644 }, e.body ?? '');
    else pack.entry({ name: e.name, type: e.type, linkname: e.linkname, mode: 0o755 }, Buffer.alloc(0));
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Readable.from([Buffer.concat(chunks)]);
}

test('the same tree gives the same layer digest, and unpacks to the same files', async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  await mkdir(join(src, 'sub', 'deep'), { recursive: true });
  await writeFile(join(src, 'a.txt'), 'alpha');
  await writeFile(join(src, 'sub', 'deep', `${'long-name-'.repeat(20)}.bin`), Buffer.alloc(5 << 20, 7));
  await link(join(src, 'a.txt'), join(src, 'sub', 'a-hard'));
  await symlink('../a.txt', join(src, 'sub', 'a-soft'));
  const store = new ImageStore(join(dir, 'store'));
  const one = await writeLayer(store, await collectTree(src, ''));
  await writeFile(join(src, 'a.txt'), 'alpha'); // new mtime, same content
  const two = await writeLayer(store, await collectTree(src, ''));
  assert.equal(one.descriptor.digest, two.descriptor.digest);
  assert.equal(one.diffId, two.diffId);
  const out = join(dir, 'out');
  await unpackLayers(store, [one.descriptor], out);
  assert.equal(await readFile(join(out, 'a.txt'), 'utf8'), 'alpha');
  assert.equal((await lstat(join(out, 'sub', 'a-hard'))).nlink, 2);
  assert.equal(await readlink(join(out, 'sub', 'a-soft')), '../a.txt');
  assert.equal((await readFile(join(out, 'sub', 'deep', `${'long-name-'.repeat(20)}.bin`))).length, 5 << 20);
  const tar = await openLayer(store, one.descriptor);
  const names: string[] = [];
  const extract = tarStream.extract();
  tar.pipe(extract as unknown as NodeJS.WritableStream);
  for await (const e of extract) {
    names.push(e.header.name);
    assert.equal(e.header.mtime?.getTime(), 0);
    assert.equal(e.header.uid, 0);
    assert.equal(e.header.uname, '');
    e.resume();
  }
  assert.deepEqual(names, [...names].sort());
  const listing = spawnSync('tar', ['-tzf', store.blobPath(one.descriptor.digest)], { encoding: 'utf8' });
  assert.ok(listing.stdout.split('\n').includes('sub/'), 'directories end with /');
});

test('whiteouts and opaque directories remove lower-layer files', async (t) => {
  const root = await tempDir(t);
  await unpackLayer(
    await makeTar([
      { name: 'keep.txt', body: 'k' },
      { name: 'gone.txt', body: 'g' },
      { name: 'dir/old.txt', body: 'o' },
      { name: 'dir2/x', body: 'x' },
    ]),
    root,
    'sha256:lower',
  );
  await unpackLayer(
    await makeTar([
      { name: '.wh.gone.txt' },
      { name: 'dir/.wh..wh..opq' },
      { name: 'dir/new.txt', body: 'n' },
      { name: '.wh.dir2' },
    ]),
    root,
    'sha256:upper',
  );
  assert.equal(await readFile(join(root, 'keep.txt'), 'utf8'), 'k');
  await assert.rejects(lstat(join(root, 'gone.txt')));
  await assert.rejects(lstat(join(root, 'dir', 'old.txt')));
  assert.equal(await readFile(join(root, 'dir', 'new.txt'), 'utf8'), 'n');
  await assert.rejects(lstat(join(root, 'dir2')));
});

test('malicious layers are refused with the layer digest and path', async (t) => {
  const base = await tempDir(t);
  const cases: Array<[string, Entry[], RegExp]> = [
    ['dotdot', [{ name: '../escape.txt', body: 'x' }], /"\.\.\/escape\.txt" contains "\.\."/],
    ['nested-dotdot', [{ name: 'a/../../escape.txt', body: 'x' }], /contains "\.\."/],
    ['absolute', [{ name: '/etc/evil', body: 'x' }], /absolute path/],
    ['symlink-out', [{ name: 'up', type: 'symlink', linkname: '../../..' }], /symlink leading out/],
    [
      'through-symlink',
      [
        { name: 'inside', type: 'symlink', linkname: '/tmp' },
        { name: 'inside/evil', body: 'x' },
      ],
      /written through the symlink inside/,
    ],
    [
      'hardlink-out',
      [{ name: 'passwd', type: 'link', linkname: '../../etc/passwd' }],
      /hard link leading out/,
    ],
    ['hardlink-abs', [{ name: 'passwd', type: 'link', linkname: '/etc/passwd' }], /absolute path/],
  ];
  for (const [name, entries, pattern] of cases) {
    const root = join(base, name, 'root');
    await mkdir(root, { recursive: true });
    await assert.rejects(unpackLayer(await makeTar(entries), root, 'sha256:bad'), (err: Error) => {
      assert.match(err.message, /^layer sha256:bad: entry /);
      assert.match(err.message, pattern);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
    await assert.rejects(lstat(join(base, name, 'escape.txt')));
  }
  await assert.rejects(lstat('/tmp/evil'));
});

test('entry count and size are bounded', async (t) => {
  const root = await tempDir(t);
  const many = Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, body: 'abc' }));
  await assert.rejects(
    unpackLayer(await makeTar(many), root, 'sha256:big', newBudget({ maxEntries: 10 })),
    /limit of 10 entries/,
  );
  await assert.rejects(
    unpackLayer(await makeTar(many), root, 'sha256:big', newBudget({ maxBytes: 30 })),
    /limit of 30 bytes/,
  );
});
