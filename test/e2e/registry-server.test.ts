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
  const logFile = servicePaths(registryServiceName, layout).logFile;
  const inUse = () => {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    return saysPortInUse(log) ? (log.trim().split('\n').pop() ?? '') : undefined;
  };
  // The action waits until the port answers, which another process holding it also does: the registry
  // is known by its API version header, and a registry that could not bind says so in its log.
  const port = await onFreePort(async (port) => {
    // a registry left from a try that lost its port goes first
    for (const c of removeService(registryServiceName, layout)) sh(c);
    const action = registryServerAction(
      {
        rootfsDir: join(root, 'rootfs'),
        dataDir: join(root, 'data'),
        configDir: join(root, 'etc-registry'),
        port,
        username: 'admin',
        password,
      },
      layout,
    );
    try {
      runLocal(action);
    } catch (err) {
      const line = inUse();
      if (line !== undefined) throw new PortInUseError(port, line);
      throw err;
    }
    const r = await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined);
    if (r?.headers.get('docker-distribution-api-version') === 'registry/2.0') return port;
    for (let i = 0; i < 50; i++) {
      const line = inUse();
      if (line !== undefined) throw new PortInUseError(port, line);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.fail(`127.0.0.1:${port} answers, but not as the registry (status ${r?.status})`);
  });
  const url = `http://127.0.0.1:${port}/v2/`;
  const auth = (u: string, p: string) => ({
    authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`,
  });
  assert.equal((await fetch(url)).status, 401);
  assert.equal((await fetch(url, { headers: auth('admin', 'nope') })).status, 401);
  assert.equal((await fetch(url, { headers: auth('admin', password) })).status, 200);
});
