// The generated registry config, htpasswd ($2y$ bcrypt) and service run the real distribution registry.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { removeService, servicePaths } from '../../src/host/services.js';
import { registryServerAction, registryServiceName } from '../../src/registry/server.js';
import { onFreePort, PortInUseError, saysPortInUse } from '../helpers/ports.js';
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
  const password = 't-reg-s3cret';
  // the action waits for the port; when another process held it, the registry's log says so
  const port = await onFreePort(async (port) => {
    try {
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
      return port;
    } catch (err) {
      const logFile = servicePaths(registryServiceName, layout).logFile;
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      if (saysPortInUse(log)) throw new PortInUseError(port, log.trim().split('\n').pop() ?? '');
      throw err;
    }
  });
  const url = `http://127.0.0.1:${port}/v2/`;
  const auth = (u: string, p: string) => ({
    authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`,
  });
  assert.equal((await fetch(url)).status, 401);
  assert.equal((await fetch(url, { headers: auth('admin', 'nope') })).status, 401);
  assert.equal((await fetch(url, { headers: auth('admin', password) })).status, 200);
});
