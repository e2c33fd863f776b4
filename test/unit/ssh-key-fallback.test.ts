// Clusterfiles written by `sealos gen` name `pk: /root/.ssh/id_rsa` even when only a password is used; a key
// file that does not exist must then give way to the password, against an in-process ssh2 server.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import ssh2 from 'ssh2';
import { connect } from '../../src/ssh/connect.js';
import { KnownHostsFile } from '../../src/ssh/known-hosts.js';
import { ConnectError } from '../../src/util/errors.js';
import { sshHostKey } from '../helpers/ssh-host-key.js';

const { Server } = ssh2;

const dir = mkdtempSync(join(tmpdir(), 't-ssh-pk-'));
const hostKey = sshHostKey();
let server: InstanceType<typeof Server>;
let port = 0;

before(async () => {
  server = new Server({ hostKeys: [hostKey] }, (conn) => {
    conn.on('authentication', (ctx) => {
      if (ctx.method === 'password' && ctx.password === 'pw-1') ctx.accept();
      else ctx.reject(['password']);
    });
    conn.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

const options = () => ({
  knownHosts: new KnownHostsFile(join(dir, 'known_hosts')),
  acceptNewHostKey: false,
  timeoutMs: 5000,
});

test('a missing key file named with a password logs in with the password', async () => {
  const client = await connect(
    { host: '127.0.0.1', port, password: 'pw-1', privateKeyPath: join(dir, 'no-such-id_rsa') },
    options(),
  );
  client.end();
});

test('a missing key file without a password is still an error naming the file', async () => {
  await assert.rejects(
    connect({ host: '127.0.0.1', port, privateKeyPath: join(dir, 'no-such-id_rsa') }, options()),
    (err: Error) =>
      err instanceof ConnectError && /cannot read private key .*no-such-id_rsa/.test(err.message),
  );
});

test('a key path that exists but is no key file is not skipped', async () => {
  await assert.rejects(
    connect({ host: '127.0.0.1', port, password: 'pw-1', privateKeyPath: dir }, options()),
    (err: Error) => err instanceof ConnectError && err.message.includes(`cannot read private key ${dir}`),
  );
});

test('a key that is not a key is not skipped either', async () => {
  const bad = join(dir, 'garbage');
  writeFileSync(bad, 'not a key\n');
  await assert.rejects(
    connect({ host: '127.0.0.1', port, password: 'pw-1', privateKeyPath: bad }, options()),
    (err: Error) => err instanceof ConnectError && err.message.includes('cannot use the private key'),
  );
});
