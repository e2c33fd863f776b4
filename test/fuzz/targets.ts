// The parsers berth runs on input it does not control, each with inputs that mix plain random text with
// text shaped like the real thing (so the interesting paths are reached, not only the first check).
// Nothing here reaches the network: registry answers come from an undici MockAgent that refuses to
// connect anywhere.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import tarStream from 'tar-stream';
import { MockAgent } from 'undici';
import { unpackLayer } from '../../src/image/layer-unpack.js';
import { formatReference, parseReference } from '../../src/image/reference.js';
import { Authenticator } from '../../src/image/registry/auth.js';
import type { FetchedManifest, RegistryClient } from '../../src/image/registry/client.js';
import { lookupCredentials } from '../../src/image/registry/credentials.js';
import { fetchImageTree } from '../../src/image/registry/tree.js';
import { formatKnownHosts, parseKnownHosts } from '../../src/ssh/known-hosts.js';
import { kubeadmConfigTarget } from './kubeadm-config-target.js';
import type { FuzzTarget } from './property.js';
import { textTargets } from './text-targets.js';

const usage = 2;
const invalidInput = 3;
const environment = 4;
const registry = 8;

const fromPieces = (pieces: string[], maxLength = 24) =>
  fc.array(fc.constantFrom(...pieces), { maxLength }).map((a) => a.join(''));

const hex64 = fc.stringMatching(/^[a-f0-9]{64}$/);
const digest = fc.oneof(
  hex64.map((h) => `sha256:${h}`),
  fc.string({ maxLength: 80 }),
);

// ---- image references (command lines, Kubefiles, image lists) ----

const referenceText = fc.oneof(
  fc.string({ maxLength: 120 }),
  fromPieces([
    'a',
    'z',
    '0',
    '.',
    '_',
    '__',
    '-',
    '/',
    ':',
    '@',
    'A',
    'localhost',
    'sha256:',
    'x.io',
    '5000',
    ' ',
  ]),
  fc
    .tuple(
      fc.constantFrom(
        '',
        'docker.io/',
        'localhost:5000/',
        'reg.example:443/',
        'index.docker.io/',
        'Bad_Host/',
      ),
      fc.stringMatching(/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*){0,3}$/),
      fc.option(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,130}$/)),
      fc.option(digest),
    )
    .map(([r, repo, tag, d]) => `${r}${repo}${tag ? `:${tag}` : ''}${d ? `@${d}` : ''}`),
);

const imageReference: FuzzTarget<string> = {
  name: 'image reference',
  inputs: referenceText,
  codes: [usage],
  run(text) {
    const ref = parseReference(text);
    // What berth prints back must mean the same image.
    assert.deepEqual(parseReference(formatReference(ref)), ref);
  },
};

// ---- registry answers: WWW-Authenticate challenges and token responses ----

let mock: MockAgent | undefined;
let tokenAnswer: { status: number; body: string } = { status: 200, body: '{"token":"t"}' };

async function mockRegistry(): Promise<void> {
  mock = new MockAgent({ connections: 1 });
  mock.disableNetConnect();
  mock
    .get(() => true)
    .intercept({ path: () => true, method: () => true })
    .reply(() => ({ statusCode: tokenAnswer.status, data: tokenAnswer.body }))
    .persist();
}

async function closeMock(): Promise<void> {
  await mock?.close();
  mock = undefined;
}

function authenticator(): Authenticator {
  return new Authenticator(
    'registry.fuzz',
    async () => ({ username: 'u', password: 'p' }),
    async () => mock as MockAgent,
  );
}

const quoted = fc.string({ maxLength: 30 }).map((s) => `"${s.replace(/(["\\])/g, '\\$1')}"`);
const param = fc
  .tuple(
    fc.constantFrom('realm', 'service', 'scope', 'error', 'Realm', 'x', ''),
    fc.oneof(quoted, fc.string({ maxLength: 20 }), fc.constantFrom('"http://127.0.0.1:1/token"', '"::"')),
  )
  .map(([k, v]) => `${k}=${v}`);
const challengeText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc
    .array(
      fc
        .tuple(
          fc.constantFrom('Bearer', 'Basic', 'bearer', 'Digest', 'Negotiate', ''),
          fc.array(param, { maxLength: 4 }),
        )
        .map(([scheme, ps]) => `${scheme} ${ps.join(fc.sample(fc.constantFrom(',', ', ', ' ,'), 1)[0])}`),
      { minLength: 1, maxLength: 3 },
    )
    .map((cs) => cs.join(', ')),
);

const wwwAuthenticate: FuzzTarget<string> = {
  name: 'WWW-Authenticate header',
  inputs: challengeText,
  codes: [registry],
  setup: mockRegistry,
  teardown: closeMock,
  async run(header) {
    tokenAnswer = { status: 200, body: '{"token":"t","expires_in":300}' };
    const auth = authenticator();
    if (await auth.onChallenge(header, ['repository:a/b:pull'], false))
      await auth.header(['repository:a/b:pull']);
  },
};

const tokenBody = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json(),
  fc
    .record(
      {
        token: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
        access_token: fc.oneof(fc.string(), fc.boolean()),
        expires_in: fc.oneof(fc.integer(), fc.double(), fc.string()),
        issued_at: fc.oneof(
          fc.date({ noInvalidDate: false }).map((d) => String(d)),
          fc.string(),
        ),
        refresh_token: fc.oneof(fc.string(), fc.integer()),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
);

const tokenResponse: FuzzTarget<{ status: number; body: string }> = {
  name: 'token response',
  inputs: fc.record({ status: fc.constantFrom(200, 200, 200, 401, 403, 500, 302), body: tokenBody }),
  codes: [registry],
  setup: mockRegistry,
  teardown: closeMock,
  async run(answer) {
    tokenAnswer = answer;
    const auth = authenticator();
    await auth.onChallenge(
      'Bearer realm="http://127.0.0.1:1/token",service="fuzz"',
      ['repository:a/b:pull'],
      false,
    );
    const h = await auth.header(['repository:a/b:pull']);
    assert.ok(h?.startsWith('Bearer '));
  },
};

// ---- docker config.json ----

let configDir = '';
const authEntry = fc.record(
  {
    auth: fc.oneof(
      fc.string().map((s) => Buffer.from(s).toString('base64')),
      fc.string(),
      fc.integer() as fc.Arbitrary<unknown>,
    ),
    username: fc.oneof(fc.string(), fc.constant(null)),
    password: fc.string(),
    identitytoken: fc.oneof(fc.string(), fc.array(fc.string())),
  },
  { requiredKeys: [] },
);
const configText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json(),
  fc
    .record(
      {
        auths: fc.oneof(
          fc.dictionary(
            fc.constantFrom('registry.fuzz', 'https://registry.fuzz/v1/', 'other', ''),
            authEntry,
          ),
          fc.jsonValue(),
        ),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
);

const dockerConfig: FuzzTarget<string> = {
  name: 'docker config.json',
  inputs: configText,
  codes: [invalidInput, environment, registry],
  async setup() {
    configDir = await mkdtemp(join(tmpdir(), 'berth-fuzz-config-'));
  },
  async teardown() {
    await rm(configDir, { recursive: true, force: true });
  },
  async run(text) {
    const file = join(configDir, 'config.json');
    await writeFile(file, text);
    const c = await lookupCredentials('registry.fuzz', file);
    if (c !== undefined) {
      assert.equal(typeof c, 'object');
      for (const v of [c.username, c.password, c.identityToken])
        assert.ok(v === undefined || typeof v === 'string', `credential field ${String(v)} is not a string`);
    }
  },
};

// ---- known_hosts ----

const knownHostsLine = fc.oneof(
  fc.string({ maxLength: 100 }),
  fc
    .tuple(
      fc.constantFrom(
        '10.0.0.1',
        '[10.0.0.1]:2222',
        'host,10.0.0.2',
        '|1|abc=|def=',
        '@revoked',
        '#',
        '',
        '*',
      ),
      fc.constantFrom('ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', '', 'x'),
      fc.oneof(
        fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b).toString('base64')),
        fc.string(),
      ),
    )
    .map((p) => p.join(' ')),
);

const knownHosts: FuzzTarget<string[]> = {
  name: 'known_hosts lines',
  inputs: fc.array(knownHostsLine, { maxLength: 8 }),
  codes: [],
  run(lines) {
    const first = parseKnownHosts(lines.join('\n'));
    const again = parseKnownHosts(formatKnownHosts(first.entries, first.otherLines));
    assert.deepEqual(
      again.entries.map((e) => [e.pattern, e.type, e.key.toString('base64')]),
      first.entries.map((e) => [e.pattern, e.type, e.key.toString('base64')]),
    );
  },
};

// ---- manifests and indexes ----

const descriptor = fc.record(
  {
    mediaType: fc.constantFrom(
      'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.oci.image.layer.v1.tar+gzip',
      'application/vnd.oci.image.config.v1+json',
      'x',
    ),
    digest,
    size: fc.oneof(fc.nat(), fc.integer(), fc.string() as fc.Arbitrary<unknown>),
    platform: fc.oneof(
      fc.record({
        os: fc.constantFrom('linux', 'windows', ''),
        architecture: fc.constantFrom('amd64', 'arm64', ''),
      }),
      fc.jsonValue(),
    ),
  },
  { requiredKeys: [] },
);
const manifestJson = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json(),
  fc
    .record(
      {
        schemaVersion: fc.constantFrom(2, 1, 'x'),
        mediaType: fc.constantFrom(
          'application/vnd.oci.image.index.v1+json',
          'application/vnd.oci.image.manifest.v1+json',
          'application/vnd.docker.distribution.manifest.v2+json',
        ),
        config: fc.oneof(descriptor, fc.jsonValue()),
        layers: fc.oneof(fc.array(descriptor, { maxLength: 4 }), fc.jsonValue()),
        manifests: fc.oneof(fc.array(descriptor, { maxLength: 3 }), fc.jsonValue()),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
);

const registryJson: FuzzTarget<{ top: string; mediaType: string; children: string[] }> = {
  name: 'registry manifest/index JSON',
  inputs: fc.record({
    top: manifestJson,
    mediaType: fc.constantFrom(
      '',
      'application/vnd.oci.image.index.v1+json',
      'application/vnd.oci.image.manifest.v1+json',
    ),
    children: fc.array(manifestJson, { maxLength: 3 }),
  }),
  codes: [registry],
  async run(input) {
    let served = 0;
    const fetched = (text: string, mediaType: string): FetchedManifest => {
      const bytes = Buffer.from(text);
      return { bytes, mediaType, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
    };
    const client = {
      registry: 'registry.fuzz',
      async getManifest(): Promise<FetchedManifest> {
        if (served++ === 0) return fetched(input.top, input.mediaType);
        return fetched(input.children[(served - 2) % Math.max(1, input.children.length)] ?? '{}', '');
      },
    } as unknown as RegistryClient;
    const tree = await fetchImageTree(client, 'a/b', 'latest', {
      platforms: [{ os: 'linux', architecture: 'amd64' }],
    });
    for (const b of tree.blobs) assert.equal(typeof b.digest, 'string');
  },
};

// ---- image layers (tar) ----

interface TarEntrySpec {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'fifo';
  linkname: string;
  mode: number;
  data: Uint8Array;
}

const pathText = fc.oneof(
  fromPieces(['..', '.', 'a', 'b', 'etc', '/', '/', '.wh.', '.wh..wh..opq', 'x'], 10),
  fc.string({ maxLength: 40 }),
);
const tarEntry: fc.Arbitrary<TarEntrySpec> = fc.record({
  name: pathText,
  type: fc.constantFrom('file', 'file', 'directory', 'symlink', 'link', 'character-device', 'fifo'),
  linkname: pathText,
  mode: fc.integer({ min: 0, max: 0o7777 }),
  data: fc.uint8Array({ maxLength: 64 }),
});

async function tarOf(entries: TarEntrySpec[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const e of entries) {
    if (!e.name) continue;
    const header = {
      name: e.name,
      type: e.type,
      mode: e.mode,
      linkname: e.linkname || 'a',
      devmajor: 1,
      devminor: 3,
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (e.type === 'file') pack.entry({ ...header, size: e.data.length }, Buffer.from(e.data), cb);
      else pack.entry({ ...header, size: 0 }, cb);
    });
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

// The layer's root lies four levels down, so an entry that escapes by up to four `..` still lands inside
// the work dir, where the check below sees it.
let tarWork = '';
const depth = ['w1', 'w2', 'w3', 'w4'];

async function treeOutsideRoot(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const path = `${rel}/${d.name}`;
    if (path === `/${depth.join('/')}/root`) continue;
    out.push(`${path} ${d.isDirectory() ? 'd' : d.isSymbolicLink() ? 'l' : 'f'}`);
    if (d.isDirectory()) out.push(...(await treeOutsideRoot(join(dir, d.name), path)));
  }
  return out;
}

const tarLayer: FuzzTarget<{ entries: TarEntrySpec[]; garbage?: Uint8Array }> = {
  name: 'tar layer',
  inputs: fc.record(
    { entries: fc.array(tarEntry, { maxLength: 8 }), garbage: fc.uint8Array({ maxLength: 2048 }) },
    { requiredKeys: ['entries'] },
  ),
  codes: [registry],
  async setup() {
    tarWork = await mkdtemp(join(tmpdir(), 'berth-fuzz-tar-'));
  },
  async teardown() {
    await rm(tarWork, { recursive: true, force: true });
  },
  async run(input) {
    const root = join(tarWork, ...depth, 'root');
    await rm(join(tarWork, depth[0] as string), { recursive: true, force: true });
    await mkdir(root, { recursive: true });
    const before = await treeOutsideRoot(tarWork);
    const bytes = input.garbage ? Buffer.from(input.garbage) : await tarOf(input.entries);
    try {
      await unpackLayer(Readable.from([bytes]), root, 'sha256:fuzz');
    } finally {
      assert.deepEqual(await treeOutsideRoot(tarWork), before, 'the layer wrote outside its root');
    }
  },
};

export const fuzzTargets: FuzzTarget<never>[] = [
  imageReference,
  wwwAuthenticate,
  tokenResponse,
  dockerConfig,
  knownHosts,
  registryJson,
  tarLayer,
  ...textTargets,
  kubeadmConfigTarget,
] as FuzzTarget<never>[];
