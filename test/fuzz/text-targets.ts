// Property-test targets for the text formats users write: Kubefiles (through the real build, into a
// throwaway store; FROM names only local images, so nothing is ever pulled), Clusterfiles (mutations of a
// realistic one, and random YAML), and Go templates (berth's own engine, on every function it offers).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseClusterfile } from '../../src/clusterfile/load.js';
import { buildImage } from '../../src/image/build.js';
import { supportedInstructions } from '../../src/image/kubefile/parse.js';
import { ImageStore } from '../../src/image/store.js';
import { renderTemplate, templateFunctionNames } from '../../src/image/template/index.js';
import { sampleClusterfile } from '../helpers/clusterfile-sample.js';
import type { FuzzTarget } from './property.js';

const usage = 2;
const invalidInput = 3;
const notFound = 9;

const fromPieces = (pieces: string[], maxLength = 24) =>
  fc.array(fc.constantFrom(...pieces), { maxLength }).map((a) => a.join(''));

/** Random edits of a valid text: the inputs that are nearly right are the ones that reach deep paths. */
export function mutationsOf(base: string): fc.Arbitrary<string> {
  const edit = fc.record({
    at: fc.nat({ max: base.length }),
    remove: fc.nat({ max: 12 }),
    insert: fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.constantFrom(':', '-', ' ', '\n', '[', ']', '{', '}', '"', "'", '${', '\t', '#', '*', '&a', '!!str'),
    ),
  });
  return fc.array(edit, { minLength: 1, maxLength: 6 }).map((edits) => {
    let s = base;
    for (const e of edits) {
      const at = Math.min(e.at, s.length);
      s = s.slice(0, at) + e.insert + s.slice(at + e.remove);
    }
    return s;
  });
}

// ---- Kubefile ----

const word = fc.oneof(
  fromPieces(
    [
      'a',
      'b',
      '=',
      '"',
      "'",
      '\\',
      '$',
      '${',
      '}',
      'A',
      ':-',
      ':+',
      'x y',
      ' ',
      '\\\n',
      '/',
      '.',
      '..',
      '*',
      '[',
      ']',
      ',',
    ],
    12,
  ),
  fc.string({ maxLength: 20 }),
  fc.constantFrom(
    '["a","b"]',
    '[]',
    '["x"',
    'k=v',
    'k="v w"',
    '--chmod=755',
    '--chown=1:1',
    '--from=0',
    '--link',
  ),
);
const instruction = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(
        ...supportedInstructions.filter((k) => k !== 'FROM'),
        'RUN',
        'HEALTHCHECK',
        'env',
        'Label',
        'NOPE',
      ),
      fc.array(word, { maxLength: 4 }),
    )
    .map(([k, ws]) => `${k} ${ws.join(' ')}`),
  fc.constantFrom(
    'FROM scratch',
    'FROM fuzz/base:1',
    'FROM fuzz/base:1 AS b',
    'FROM $BASE',
    'FROM missing/x:1',
    '# escape=`',
    '# comment',
    '',
  ),
  fc.string({ maxLength: 40 }),
);
const kubefileText = fc.oneof(
  fc.array(instruction, { maxLength: 10 }).map((ls) => `FROM scratch\n${ls.join('\n')}\n`),
  fc
    .array(instruction, { maxLength: 10 })
    .map((ls) => ls.join(fc.sample(fc.constantFrom('\n', '\\\n', '\r\n'), 1)[0])),
  mutationsOf(
    'ARG BASE=fuzz/base:1\nFROM ${BASE}\nENV A=1 B="two words"\nLABEL k=v\nCOPY a.txt /a\nCOPY dir/ /d/\nWORKDIR /w\nCMD ["sh", "-c", "echo $A"]\n',
  ),
);

let kubefileWork = '';
let kubefileStore: ImageStore | undefined;

const kubefile: FuzzTarget<string> = {
  name: 'Kubefile (build)',
  inputs: kubefileText,
  codes: [usage, invalidInput, notFound],
  async setup() {
    kubefileWork = await mkdtemp(join(tmpdir(), 'berth-fuzz-kubefile-'));
    kubefileStore = new ImageStore(join(kubefileWork, 'store'));
    const base = join(kubefileWork, 'base');
    await mkdir(base);
    await writeFile(join(base, 'Kubefile'), 'FROM scratch\nENV BASE_ENV=1\n');
    await buildImage({ contextDir: base, tags: ['fuzz/base:1'], store: kubefileStore });
  },
  async teardown() {
    await rm(kubefileWork, { recursive: true, force: true });
  },
  async run(text) {
    const ctx = join(kubefileWork, 'ctx');
    await rm(ctx, { recursive: true, force: true });
    await mkdir(join(ctx, 'dir'), { recursive: true });
    await writeFile(join(ctx, 'a.txt'), 'a');
    await writeFile(join(ctx, 'dir', 'b'), 'b');
    await writeFile(join(ctx, 'Kubefile'), text);
    await buildImage({ contextDir: ctx, tags: ['fuzz/out:1'], store: kubefileStore });
  },
};

// ---- Clusterfile ----

const clusterfileText = fc.oneof(
  mutationsOf(sampleClusterfile),
  fc.jsonValue().map((v) => stringify(v)),
  fc
    .record(
      {
        apiVersion: fc.constantFrom('apps.sealos.io/v1beta1', 'berth.dev/v1', 'x'),
        kind: fc.constantFrom('Cluster', 'Config', 'K3sConfig', 'InitConfiguration', 'Nope'),
        metadata: fc.oneof(fc.record({ name: fc.string() }), fc.jsonValue()),
        spec: fc.oneof(
          fc.record(
            {
              hosts: fc.array(
                fc.record({
                  ips: fc.array(fc.string()),
                  roles: fc.array(fc.constantFrom('master', 'node', 'amd64', 'x')),
                }),
              ),
              image: fc.array(fc.string()),
              ssh: fc.dictionary(
                fc.constantFrom('user', 'passwd', 'pk', 'port', 'pkPasswd', 'usr'),
                fc.jsonValue(),
              ),
              env: fc.array(fc.string()),
            },
            { requiredKeys: [] },
          ),
          fc.jsonValue(),
        ),
      },
      { requiredKeys: [] },
    )
    .map((o) => stringify(o)),
);

const clusterfile: FuzzTarget<string> = {
  name: 'Clusterfile',
  inputs: clusterfileText,
  codes: [invalidInput],
  run(text) {
    parseClusterfile(text, 'Clusterfile', { environment: { T_CF_PASS: 'p', T_CF_PK: 'k' } });
  },
};

// ---- Go templates ----

const templateText = fc.oneof(
  fc.string({ maxLength: 80 }),
  fromPieces(
    [
      '{{',
      '}}',
      '{{-',
      '-}}',
      ' ',
      '.',
      '.A',
      '.B',
      '$',
      '$x',
      ':=',
      '=',
      '|',
      '(',
      ')',
      '"s"',
      '`r`',
      '1',
      '-1',
      '3.5',
      'true',
      'nil',
      'if',
      'else',
      'end',
      'range',
      'with',
      'define',
      'template',
      'block',
      'and',
      'or',
      'not',
      'eq',
      'ne',
      'lt',
      'len',
      'index',
      'printf',
      ...templateFunctionNames,
      'nofunc',
      'text',
      '\n',
      ',',
    ],
    30,
  ),
  mutationsOf(
    '{{ if eq .A "1" }}{{ range $i, $v := split "," .B }}{{ $v | upper | quote }}{{ end }}{{ else }}{{ .A | default "x" }}{{ end }}',
  ),
);

const goTemplate: FuzzTarget<{ text: string; data: Record<string, string> }> = {
  name: 'Go template',
  inputs: fc.record({
    text: templateText,
    data: fc.dictionary(fc.constantFrom('A', 'B', 'C'), fc.string({ maxLength: 20 })),
  }),
  codes: [invalidInput],
  run({ text, data }) {
    renderTemplate(text, data, 'fuzz.tmpl');
  },
};

export const textTargets = [kubefile, clusterfile, goTemplate] as FuzzTarget<never>[];
