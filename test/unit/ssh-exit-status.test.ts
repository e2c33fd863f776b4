// A command that ends at once: the server sends the exec reply, output, exit status and close together,
// so the client reads them in one go. Its status must still be seen (it once came back as "connection lost").
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import ssh2 from 'ssh2';
import { runOnChannel } from '../../src/ssh/exec.js';
import { ConnectionLostError, exitCodeOf, RemoteCommandError } from '../../src/util/errors.js';
import { sshHostKey } from '../helpers/ssh-host-key.js';

// ssh2 is CommonJS; only Client is a named export Node can see
const { Client, Server } = ssh2;

const hostKey = sshHostKey();
let server: InstanceType<typeof Server>;
let client: InstanceType<typeof Client>;

before(async () => {
  server = new Server({ hostKeys: [hostKey] }, (conn) => {
    conn.on('authentication', (ctx) => ctx.accept());
    conn.on('session', (acceptSession) => {
      const session = acceptSession();
      session.on('exec', (accept, _reject, info) => {
        const stream = accept();
        const status = Number(/exit (\d+)/.exec(info.command)?.[1] ?? 0);
        const signal = /kill -(\w+)/.exec(info.command)?.[1];
        stream.stderr.write('berth-pid:4242\n');
        stream.write(`ran ${status}\n`);
        // a host whose connection drops sends no exit status before the channel closes
        if (info.command.includes('drop')) stream.close();
        else if (signal) stream.exit(signal, false, '');
        else stream.exit(status);
        stream.end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve).once('error', reject);
    client.connect({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      username: 'root',
      password: 'x',
    });
  });
});

after(async () => {
  client.end();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const run = (command: string) =>
  runOnChannel(client, { label: 'loopback', command, shown: command }, { allowFailure: true });

test('an exit status sent together with the exec reply is not lost', async () => {
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) => run(`exit ${i % 4}`)));
  for (const [i, r] of results.entries()) {
    assert.equal(r.code, i % 4, `command ${i}`);
    assert.equal(r.stdout, `ran ${i % 4}\n`);
  }
});

test('a command ended by a signal reports 128 + the signal number', async () => {
  assert.equal((await run('kill -KILL')).code, 137);
  assert.equal((await run('kill -TERM')).code, 143);
});

test('a channel closed without an exit status is a lost connection (exit 5), not a failed command', async () => {
  const strict = (command: string) =>
    runOnChannel(client, { label: 'loopback', command, shown: command }, {});
  await assert.rejects(strict('drop'), (err: Error) => {
    assert.ok(err instanceof ConnectionLostError, String(err));
    assert.equal(err.message, 'loopback: connection lost while running `drop`');
    assert.equal(exitCodeOf(err), 5);
    return true;
  });
  await assert.rejects(
    strict('exit 3'),
    (err: Error) => err instanceof RemoteCommandError && exitCodeOf(err) === 7,
  );
});

test('a command on a connection that has already dropped is a lost connection (exit 5), not an internal error', async () => {
  // a client whose socket is gone: ssh2 refuses the exec with "Not connected"
  const gone = new Client();
  await assert.rejects(
    runOnChannel(gone, { label: 'loopback', command: 'true', shown: 'true' }, {}),
    (err: Error) => {
      assert.ok(err instanceof ConnectionLostError, String(err));
      assert.equal(exitCodeOf(err), 5);
      return true;
    },
  );
});
