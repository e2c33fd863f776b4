// Bearer-token auth against the stock registry: a token service in this test signs ES256 JWTs with an
// x5c certificate the registry trusts, grants only what the scopes ask, and counts token requests.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { writeOciImage } from '../helpers/oci-fixture.js';
import { runBerth } from '../helpers/run-berth.js';
import { startRegistry } from '../helpers/test-registry.js';

const execFileAsync = promisify(execFile);
const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

test('bearer tokens: berth asks the realm per scope, with basic credentials, and pushes and pulls', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 't-bearer-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  execFileSync(
    'openssl',
    ['req', '-x509', ...ec, '-keyout', 'tok.key', '-out', 'tok.crt', '-days', '2', '-subj', '/CN=t-bearer'],
    {
      cwd: work,
      stdio: 'ignore',
    },
  );
  const key = createPrivateKey(readFileSync(join(work, 'tok.key')));
  const der = execFileSync('openssl', ['x509', '-in', join(work, 'tok.crt'), '-outform', 'DER']);
  const scopesAsked: string[] = [];
  const tokens = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization ?? '';
    if (auth !== `Basic ${Buffer.from('t-bearer-user:t-bearer-pw').toString('base64')}`) {
      res.writeHead(401).end();
      return;
    }
    const scopes = url.searchParams.getAll('scope');
    scopesAsked.push(scopes.join(' '));
    const access = scopes.map((s) => {
      const [type, name, actions] = s.split(':') as [string, string, string];
      return { type, name, actions: actions.split(',') };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', x5c: [der.toString('base64')] }));
    const claims = b64url(
      JSON.stringify({
        iss: 't-issuer',
        sub: 't-bearer-user',
        aud: url.searchParams.get('service'),
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomBytes(8).toString('hex'),
        access,
      }),
    );
    const sig = sign('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token: `${header}.${claims}.${b64url(sig)}`, expires_in: 300 }));
  });
  await new Promise<void>((r) => tokens.listen(0, '127.0.0.1', r));
  const realm = `http://127.0.0.1:${(tokens.address() as { port: number }).port}/token`;
  const reg = await startRegistry({
    token: { realm, service: 't-bearer-svc', issuer: 't-issuer', rootcertbundle: join(work, 'tok.crt') },
  });
  t.after(async () => {
    await reg.stop();
    tokens.closeAllConnections();
    await new Promise((r) => tokens.close(r));
    rmSync(work, { recursive: true, force: true });
  });
  const layout = join(work, 'layout');
  const image = await writeOciImage(layout, 'x', [
    { platform: { os: 'linux', architecture: 'amd64' }, files: { 'etc/x': Buffer.from('x') } },
  ]);
  const env = { BERTH_HOME: join(work, 'home'), DOCKER_CONFIG: join(work, 'docker') };
  const login = await runBerth(
    ['login', reg.host, '-u', 't-bearer-user', '--password-stdin'],
    env,
    't-bearer-pw',
  );
  assert.equal(login.code, 0, login.stderr);
  // Asynchronous: the token service answering skopeo runs in this process.
  await execFileAsync('skopeo', [
    '--insecure-policy',
    'copy',
    '--dest-tls-verify=false',
    '--dest-creds',
    't-bearer-user:t-bearer-pw',
    `oci:${layout}:x`,
    `docker://${reg.host}/t-bearer/src:1`,
  ]);
  const pulled = await runBerth(['pull', `${reg.host}/t-bearer/src:1`], env);
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.equal(pulled.stdout.trim(), image.digest);
  scopesAsked.length = 0;
  const pushed = await runBerth(['push', `${reg.host}/t-bearer/src:1`, `${reg.host}/t-bearer/dst:1`], env);
  assert.equal(pushed.code, 0, pushed.stderr);
  assert.match(pushed.stderr, / 0 B uploaded/, 'blobs mounted from t-bearer/src');
  assert.ok(
    scopesAsked.some(
      (s) => s.includes('repository:t-bearer/dst:pull,push') && s.includes('repository:t-bearer/src:pull'),
    ),
    `a mount asks for both repositories: ${scopesAsked.join(' | ')}`,
  );
  const wrong = await runBerth(['login', reg.host, '-u', 't-bearer-user', '--password-stdin'], env, 'nope');
  assert.equal(wrong.code, 8);
  assert.match(wrong.stderr, /refused the credentials/);
});
