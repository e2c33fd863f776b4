// The generated registry config, htpasswd ($2y$ bcrypt) and service run the real distribution registry.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { removeService } from '../../src/host/services.js';
import { registryServerAction, registryServiceName } from '../../src/registry/server.js';
import { freePort } from '../helpers/ports.js';
import { runLocal, sh } from '../helpers/run-local.js';

test('registry serves /v2/ only to the htpasswd user', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'berth-reg-'));
  const layout = { root };
  t.after(() => {
    try {
      for (const c of removeService(registryServiceName, layout)) sh(c);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
  const port = await freePort();
  const password = 't-reg-s3cret';
  runLocal(
    registryServerAction(
      {
        rootfsDir: join(root, 'rootfs'),
        dataDir: join(root, 'data'),
        configDir: join(root, 'etc-registry'),
        port,
        username: 'admin',
        password,
      },
      layout,
    ),
  );
  const url = `http://127.0.0.1:${port}/v2/`;
  const auth = (u: string, p: string) => ({
    authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`,
  });
  assert.equal((await fetch(url)).status, 401);
  assert.equal((await fetch(url, { headers: auth('admin', 'nope') })).status, 401);
  assert.equal((await fetch(url, { headers: auth('admin', password) })).status, 200);
});
