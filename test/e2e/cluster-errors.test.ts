// What a user gets wrong most: a wrong password, a host that is not there, a broken Clusterfile. Each is
// one line naming the host or file, the documented exit code, no secret in the output, no host changed,
// and no cluster state left behind (nothing was applied, so there is nothing to resume or reset).
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertHostAsBefore, berth, imageRef, setupCluster, snapshotHost } from '../helpers/cluster-e2e.js';

const cluster = 't-cl-err';

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

/**
 * stderr of a run that failed while gathering facts: the phase's progress header (berth logs it for
 * every phase it starts, not a part of the failure) and then exactly one line, the failure.
 */
function failureLines(stderr: string): string[] {
  const all = lines(stderr);
  const headers = all.filter((l) => l.startsWith('==> '));
  assert.deepEqual(headers, ['==> gather host facts'], stderr);
  return all.filter((l) => !l.startsWith('==> '));
}

/** The last usable address of the sandbox's subnet, or one below it when a host holds it. */
function unusedAddress(subnet: string, taken: string[]): string {
  const [base, bits] = subnet.split('/') as [string, string];
  const n = base.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  for (let i = size - 2; i > 1; i--) {
    const v = n + i;
    const ip = [24, 16, 8, 0].map((s) => (v >>> s) & 255).join('.');
    if (!taken.includes(ip)) return ip;
  }
  throw new Error(`no unused address in ${subnet}`);
}

test('user errors: one line, the right exit code, nothing changed', async (t) => {
  const setup = await setupCluster(t, { sandbox: 't-cl-err', hosts: 1 });
  const { sb, home } = setup;
  const host = sb.hosts[0] as (typeof sb.hosts)[0];
  const before = snapshotHost(setup, host);
  const stateDir = join(home, cluster);

  await t.test('malformed Clusterfile: exit 3, one line with file:line, nothing created', async () => {
    const head = `apiVersion: apps.sealos.io/v1beta1
kind: Cluster
metadata:
  name: ${cluster}
spec:
  image:
    - ${imageRef}
`;
    const badIp = join(home, 'bad-ip.yaml');
    writeFileSync(
      badIp,
      `${head}  ssh:
    user: root
    pk: ${sb.keyPath}
  hosts:
    - ips: [${host.ip}]
      roles: [master]
    - ips: [10.0.0.300]
      roles: [node]
`,
    );
    const badSyntax = join(home, 'bad-syntax.yaml');
    writeFileSync(
      badSyntax,
      `${head}  ssh: {user: root, pk: ${sb.keyPath}
  hosts:
    - ips: [${host.ip}]
      roles: [master]
`,
    );
    for (const [file, where] of [
      [badIp, /bad-ip\.yaml:14: .*10\.0\.0\.300/],
      [badSyntax, /bad-syntax\.yaml:(8|9): YAML syntax/],
    ] as const) {
      const r = await berth(['apply', '-f', file]);
      assert.equal(r.code, 3, r.stderr);
      assert.equal(lines(r.stderr).length, 1, `one line on stderr:\n${r.stderr}`);
      assert.match(r.stderr, where);
      assert.equal(existsSync(stateDir), false, 'no cluster state dir');
    }
    // berth records a host key on its first connection (this runs before any other): none means no host
    // was even contacted
    assert.equal(existsSync(join(home, 'known_hosts')), false);
  });

  await t.test('wrong password: exit 5, one line naming the host, no password, no state', async () => {
    const password = 'not-the-Passw0rd-9x';
    const r = await berth(['run', imageRef, '--cluster', cluster, '--masters', host.ip, '-p', password]);
    assert.equal(r.code, 5, r.stderr);
    assert.equal(failureLines(r.stderr).length, 1, `one failure line on stderr:\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(host.ip.replace(/\./g, '\\.')));
    assert.ok(!`${r.stdout}${r.stderr}`.includes(password), 'the password is not in the output');
    assert.equal(existsSync(stateDir), false, 'no cluster state dir');
  });

  await t.test('unreachable host: exit 5 within the connect timeout', async () => {
    const ip = unusedAddress(
      sb.subnet,
      sb.hosts.map((h) => h.ip),
    );
    const r = await berth(['run', imageRef, '--cluster', cluster, '--masters', ip, '-p', 'x'], 60_000);
    console.log(`unreachable ${ip}: exit ${r.code} after ${r.ms} ms`);
    assert.equal(r.code, 5, r.stderr);
    assert.equal(failureLines(r.stderr).length, 1, `one failure line on stderr:\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(ip.replace(/\./g, '\\.')));
    // the SSH connect timeout is 10 s; the margin covers the CLI's start
    assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
    assert.equal(existsSync(stateDir), false, 'no cluster state dir');
  });

  await t.test('the host is exactly as before', async () => {
    await assertHostAsBefore(setup, host, before);
  });
});
