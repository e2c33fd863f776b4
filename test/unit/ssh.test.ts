import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseHostList } from '../../src/ssh/host-list.js';
import {
  checkHostKey,
  fingerprint,
  formatKnownHosts,
  hostPattern,
  KnownHostsFile,
  keyTypeOf,
  parseKnownHosts,
} from '../../src/ssh/known-hosts.js';
import type { LocalEntry } from '../../src/ssh/local-tree.js';
import { diffTree, parseHashes, parseListing, sizeMatches } from '../../src/ssh/manifest.js';
import { UsageError } from '../../src/util/errors.js';

// A real ed25519 public key blob (from ssh-keygen) and a second one.
const KEY_A = 'AAAAC3NzaC1lZDI1NTE5AAAAIFnq8Nf0kWjJq3jvO3m3mS5xQ0s0f9VnI8lQeH0zW2bT';
const KEY_B = 'AAAAC3NzaC1lZDI1NTE5AAAAIB7mHh3nq9zN7p5d6gk2u1QhV1q2m3v4b5n6m7k8j9hA';

test('known_hosts: parses OpenSSH lines, keeps comments and markers, writes back', () => {
  const text = `# comment\n10.0.0.2 ssh-ed25519 ${KEY_A}\n[10.0.0.3]:2222,other ssh-ed25519 ${KEY_B} c\n@revoked * ssh-rsa AAAA\n`;
  const { entries, otherLines } = parseKnownHosts(text);
  assert.deepEqual(
    entries.map((e) => [e.pattern, e.type]),
    [
      ['10.0.0.2', 'ssh-ed25519'],
      ['[10.0.0.3]:2222', 'ssh-ed25519'],
      ['other', 'ssh-ed25519'],
    ],
  );
  assert.deepEqual(otherLines, ['# comment', '@revoked * ssh-rsa AAAA']);
  const out = formatKnownHosts(entries, otherLines);
  assert.match(
    out,
    new RegExp(`^\\[10\\.0\\.0\\.3\\]:2222 ssh-ed25519 ${KEY_B.replace(/\+/g, '\\+')}$`, 'm'),
  );
  assert.deepEqual(parseKnownHosts(out).entries, entries);
});

test('known_hosts: new, known and changed keys; port 22 is written bare', () => {
  assert.equal(hostPattern('10.0.0.2', 22), '10.0.0.2');
  assert.equal(hostPattern('10.0.0.2', 2222), '[10.0.0.2]:2222');
  const { entries } = parseKnownHosts(`10.0.0.2 ssh-ed25519 ${KEY_A}\n`);
  const a = Buffer.from(KEY_A, 'base64');
  const b = Buffer.from(KEY_B, 'base64');
  assert.equal(keyTypeOf(a), 'ssh-ed25519');
  assert.equal(checkHostKey(entries, '10.0.0.2', a).status, 'known');
  assert.equal(checkHostKey(entries, '10.0.0.3', b).status, 'new');
  const changed = checkHostKey(entries, '10.0.0.2', b);
  assert.equal(changed.status, 'changed');
  assert.match(fingerprint(a), /^SHA256:[A-Za-z0-9+/]{43}$/);
});

test('known_hosts file: concurrent records are all kept, replacing a host replaces its key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 't-ssh-kh-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = new KnownHostsFile(join(dir, 'known_hosts'));
  const a = Buffer.from(KEY_A, 'base64');
  const b = Buffer.from(KEY_B, 'base64');
  await Promise.all(['10.0.0.2', '10.0.0.3', '10.0.0.4'].map((h) => file.record(h, a)));
  await file.record('10.0.0.3', b);
  const { entries } = await file.read();
  assert.deepEqual(entries.map((e) => [e.pattern, e.key.equals(a) ? 'a' : 'b']).sort(), [
    ['10.0.0.2', 'a'],
    ['10.0.0.3', 'b'],
    ['10.0.0.4', 'a'],
  ]);
});

function file(rel: string, size: number, mode = 0o644): LocalEntry {
  return { rel, type: 'file', size, mode, mtime: new Date(0) };
}

test('manifest: listing and hashes parse, and the diff sends only what differs', () => {
  assert.deepEqual(parseListing('berth:missing'), { exists: false, files: new Map() });
  const remote = parseListing(
    '5 644 a.txt\0' + '7 755 dir/b c.sh\0' + '3 644 gone.txt\0' + '9 600 mode.txt\0',
  );
  assert.deepEqual(remote.files.get('dir/b c.sh'), { size: 7, mode: 0o755 });
  const local = [
    { rel: 'dir', type: 'dir', size: 0, mode: 0o755, mtime: new Date(0) } as LocalEntry,
    file('a.txt', 5),
    file('dir/b c.sh', 7, 0o755),
    file('new.txt', 1),
    file('mode.txt', 9, 0o644),
    file('resized.txt', 4),
    {
      rel: 'link',
      type: 'symlink',
      size: 0,
      mode: 0o777,
      mtime: new Date(0),
      linkTarget: 'a.txt',
    } as LocalEntry,
  ];
  assert.deepEqual(
    sizeMatches(local, remote).map((e) => e.rel),
    ['a.txt', 'dir/b c.sh', 'mode.txt'],
  );
  const h = (c: string) => c.repeat(64);
  const remoteHashes = parseHashes(`${h('1')}  a.txt\0${h('9')}  dir/b c.sh\0${h('3')}  mode.txt\0`);
  assert.equal(remoteHashes.get('dir/b c.sh'), h('9'));
  const localHashes = new Map([
    ['a.txt', h('1')],
    ['dir/b c.sh', h('2')],
    ['mode.txt', h('3')],
  ]);
  const diff = diffTree(local, remote, localHashes, remoteHashes);
  assert.deepEqual(
    diff.send.map((e) => e.rel),
    ['dir/b c.sh', 'new.txt', 'resized.txt', 'link'],
  );
  assert.deepEqual(
    diff.chmod.map((e) => e.rel),
    ['mode.txt'],
  );
  assert.equal(diff.skipped, 1);
});

test('host lists: ports, ranges, IPv6 and errors', () => {
  assert.deepEqual(parseHostList('10.0.0.2, 10.0.0.3:2222,node-1'), [
    { host: '10.0.0.2' },
    { host: '10.0.0.3', port: 2222 },
    { host: 'node-1' },
  ]);
  assert.deepEqual(
    parseHostList('10.0.0.254-10.0.1.1').map((h) => h.host),
    ['10.0.0.254', '10.0.0.255', '10.0.1.0', '10.0.1.1'],
  );
  assert.deepEqual(parseHostList('10.0.0.2-4:2200,10.0.0.3:2200'), [
    { host: '10.0.0.2', port: 2200 },
    { host: '10.0.0.3', port: 2200 },
    { host: '10.0.0.4', port: 2200 },
  ]);
  assert.deepEqual(parseHostList('[fd00::2]:22'), [{ host: 'fd00::2', port: 22 }]);
  assert.throws(() => parseHostList('10.0.0.5-10.0.0.2'), UsageError);
  assert.throws(() => parseHostList('10.0.0.2:99999'), UsageError);
  assert.throws(() => parseHostList(' , '), UsageError);
});
