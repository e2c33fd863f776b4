// The local image commands through a real berth process, each output parsed and checked: images and
// inspect (--json), tag, merge, create/mount/umount, save/rmi/prune/load round trip, and a missing name.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../../bin/berth', import.meta.url));

interface ImageRow {
  name: string;
  id: string;
  digest: string;
  size: number;
  created: string;
  platforms: string[];
}

test('image commands: images, inspect, tag, merge, create, mount, save, rmi, prune, load', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'berth-image-cli-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const env = { ...process.env, BERTH_HOME: join(work, 'home') };
  const berth = (...args: string[]) =>
    spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', cwd: work });
  const ok = (...args: string[]) => {
    const r = berth(...args);
    assert.equal(r.status, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const images = () => JSON.parse(ok('images', '--json')) as ImageRow[];
  const one = join(work, 'one');
  mkdirSync(join(one, 'dir'), { recursive: true });
  writeFileSync(join(one, 'a.txt'), 'one\n');
  writeFileSync(join(one, 'dir', 'b'), 'b\n');
  chmodSync(join(one, 'dir', 'b'), 0o755);
  writeFileSync(join(one, 'Kubefile'), 'FROM scratch\nCOPY a.txt dir /\nLABEL k=v\nENV E=1\nCMD ["/x"]\n');
  const two = join(work, 'two');
  mkdirSync(two);
  writeFileSync(join(two, 'a.txt'), 'two\n');
  writeFileSync(join(two, 'c.txt'), 'c\n');
  writeFileSync(join(two, 'Kubefile'), 'FROM scratch\nCOPY a.txt c.txt /\nLABEL k2=v2\nENV F=2\n');
  ok('build', '-t', 't/one:1', one);
  ok('build', '-t', 't/two:1', two);

  const listed = images();
  assert.deepEqual(listed.map((i) => i.name).sort(), ['t/one:1', 't/two:1']);
  for (const i of listed) {
    assert.match(i.id, /^sha256:[0-9a-f]{64}$/);
    assert.match(i.digest, /^sha256:[0-9a-f]{64}$/);
    assert.ok(i.size > 0);
    assert.deepEqual(i.platforms, [`linux/${process.arch === 'x64' ? 'amd64' : process.arch}`]);
  }

  const info = JSON.parse(ok('inspect', 't/one:1', '--json')) as {
    name: string;
    digest: string;
    labels: Record<string, string>;
    env: string[];
    cmd: string[];
    layers: Array<{ digest: string; diffId: string }>;
  };
  assert.equal(info.name, 't/one:1');
  assert.equal(info.digest, listed.find((i) => i.name === 't/one:1')?.digest);
  assert.deepEqual(info.labels, { k: 'v' });
  assert.deepEqual(info.env, ['E=1']);
  assert.deepEqual(info.cmd, ['/x']);
  assert.equal(info.layers.length, 1);

  ok('tag', 't/one:1', 't/alias:2');
  const byName = new Map(images().map((i) => [i.name, i]));
  assert.equal(byName.get('t/alias:2')?.digest, byName.get('t/one:1')?.digest);

  ok('merge', 't/one:1', 't/two:1', '-t', 't/merged:1');
  const merged = JSON.parse(ok('inspect', 't/merged:1', '--json')) as {
    labels: Record<string, string>;
    env: string[];
  };
  assert.deepEqual(merged.labels, { k: 'v', k2: 'v2' });
  assert.deepEqual(merged.env.sort(), ['E=1', 'F=2']);
  const created = ok('create', 't/merged:1', '--name', 'm').trim();
  assert.equal(readFileSync(join(created, 'a.txt'), 'utf8'), 'two\n', 'the later image wins');
  assert.equal(readFileSync(join(created, 'c.txt'), 'utf8'), 'c\n');
  assert.equal(statSync(join(created, 'b')).mode & 0o777, 0o755);
  ok('umount', 'm');
  assert.ok(!existsSync(created));
  const mounted = ok('mount', 't/one:1').trim();
  assert.equal(ok('mount', 't/one:1').trim(), mounted, 'mount reuses the unpacked dir');
  assert.equal(readFileSync(join(mounted, 'a.txt'), 'utf8'), 'one\n');

  const archive = join(work, 'one.tar');
  ok('save', 't/one:1', '-o', archive);
  const freed = ok('rmi', 't/one:1', 't/alias:2');
  assert.match(freed, /untagged .*t\/one:1\n.*untagged .*t\/alias:2\n/s);
  assert.ok(!images().some((i) => i.name === 't/one:1'));
  assert.match(ok('prune'), /^freed \d+ B \(\d+ blobs\)\n$/);
  ok('load', '-i', archive);
  assert.equal(
    images().find((i) => i.name === 't/one:1')?.digest,
    info.digest,
    'the loaded image is the saved one, byte for byte',
  );

  const missing = berth('inspect', 'no/such:1');
  assert.equal(missing.status, 9);
  assert.equal(missing.stderr.split('\n').filter(Boolean).length, 1, 'one line');
});
