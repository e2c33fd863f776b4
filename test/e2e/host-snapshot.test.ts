// The host snapshots that the reset tests compare are read from each host's overlay upper layer, not by
// listing the host's whole /; this checks on one sandbox host that every kind of change a reset could
// leave still shows: a new file, a file of the machine's removed, one with another mode, one with the
// same size and other bytes, a directory removed and made again, a file on the host's own /tmp, and that
// a host put back as it was compares equal.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SandboxHost } from '../../src/sandbox/index.js';
import { mustSsh, snapshotDiff, snapshotHost } from '../helpers/cluster-e2e.js';
import { withSandbox } from '../helpers/sandbox.js';

test('host snapshots show what a host changed, and nothing when it is put back', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'berth-t-snap-'));
  process.env.BERTH_HOME = home;
  // after-hooks run in registration order: the sandbox must go down before its BERTH_HOME is removed
  const sb = await withSandbox(t, { name: 't-snap', hosts: 1, init: 'sshd' }).catch((err) => {
    rmSync(home, { recursive: true, force: true });
    throw err;
  });
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const h = sb.hosts[0] as SandboxHost;
  const knownHosts = join(home, 'known_hosts');
  writeFileSync(knownHosts, `${h.ip} ${h.hostKey}\n`);
  const access = { sb, knownHosts };

  // /etc/debian_version and /etc/issue are the machine's own files, seen through the host's lower layer
  mustSsh(access, h, 'cp -a /etc/issue /root/issue.kept && cp -a /etc/debian_version /root/version.kept');
  const before = snapshotHost(access, h);
  const started = Date.now();
  mustSsh(
    access,
    h,
    [
      'echo left > /etc/berth-left-behind',
      'rm /etc/issue.net',
      'chmod 600 /etc/issue',
      // same length, other bytes: only the digest tells
      "tr '0-9' '1-90' < /root/version.kept > /etc/debian_version",
      'rm -rf /etc/skel && mkdir /etc/skel',
      'echo tmp > /tmp/berth-left-behind',
    ].join(' && '),
  );
  const diff = snapshotDiff(before, snapshotHost(access, h));
  console.log(`snapshot taken in ${Date.now() - started} ms`);
  const has = (re: RegExp, what: string) =>
    assert.ok(
      diff.some((l) => re.test(l)),
      `${what}:\n${diff.join('\n')}`,
    );
  has(/^files: \+ \/etc\/berth-left-behind f 644 5 $/, 'a new file');
  has(/^files: \+ \/etc\/issue\.net absent$/, "a file of the machine's removed");
  has(/^files: \+ \/etc\/issue f 600 /, 'a file with another mode');
  has(/^digests: \+ \/etc\/debian_version [0-9a-f]{64}$/, 'a file with other bytes of the same size');
  has(/^files: \+ \/etc\/skel d \d+ opaque$/, 'a directory removed and made again');
  has(/^files: \+ \/tmp\/berth-left-behind f 644 4 $/, "a file on the host's own /tmp");
  has(/^digests: \+ \/tmp\/berth-left-behind [0-9a-f]{64}$/, "the digest of the host's /tmp file");

  // put back by content: the whiteouts and the opaque directory go once the upper layer's entries do
  mustSsh(
    access,
    h,
    [
      'rm /etc/berth-left-behind /tmp/berth-left-behind',
      'cp -a /root/issue.kept /etc/issue',
      'cp -a /root/version.kept /etc/debian_version',
    ].join(' && '),
  );
  const after = snapshotDiff(before, snapshotHost(access, h)).filter(
    (l) => !/\/etc\/(issue\.net|skel)( |$)/.test(l),
  );
  assert.deepEqual(after, [], 'files put back as they were compare equal');
});
