import { readFile } from 'node:fs/promises';
import { type Document, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { InputError, UsageError } from '../util/errors.js';
import { registerSecret } from '../util/log.js';
import { decryptSecret } from '../util/secrets.js';
import { documentValue } from '../util/yaml-value.js';
import {
  type ConfigDoc,
  configDocSchema,
  type DistributionDoc,
  distributionKinds,
  k3sConfigSchema,
} from './documents.js';
import { isPureReference, referencedVariables } from './env-refs.js';
import { parseEnvArg, parseSetOverride, type SetOverride } from './overrides.js';
import {
  describeIssues,
  type FieldPath,
  fieldLines,
  formatPath,
  lineOf,
  UNKNOWN_FIELD,
} from './positions.js';
import { type Cluster, clusterSchema } from './schema.js';
import {
  envEntryPaths,
  getPath,
  referenceKeys,
  secretEnvPaths,
  secretKeys,
  setPath,
  splitEnvEntry,
  sshFieldPaths,
} from './secret-fields.js';

export interface LoadOptions {
  /** `--set FIELD=VALUE` arguments, applied to the Cluster document before validation. */
  set?: readonly string[];
  /** `-e KEY=VALUE` arguments, appended to spec.env (a later entry wins over an earlier one). */
  env?: readonly string[];
  /** Where `${VAR}` references are looked up; process.env by default. */
  environment?: NodeJS.ProcessEnv;
  /**
   * Fail when a `${VAR}` reference names an unset variable (default true). Commands that only read
   * state (list, status) pass false; the credentials are then checked when they are used.
   */
  checkVariables?: boolean;
}

export interface LoadedClusterfile {
  file: string;
  cluster: Cluster;
  /** `kind: Config` file patches, in file order. */
  configs: ConfigDoc[];
  /** kubeadm / k3s / k0s config documents, in file order. */
  distributionDocs: DistributionDoc[];
}

export const documentKinds = ['Cluster', 'Config', ...Object.keys(distributionKinds)];

/** Reads and validates a Clusterfile; every error is one InputError line naming FILE:LINE and the field. */
export async function loadClusterfile(file: string, options: LoadOptions = {}): Promise<LoadedClusterfile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`${file}: no such Clusterfile`);
    throw new InputError(`${file}: cannot read: ${(err as Error).message}`);
  }
  return parseClusterfile(text, file, options);
}

interface Source {
  file: string;
  doc: Document;
  lines: LineCounter;
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
}

const MAX_NAMED = 4;

/**
 * One line naming every problem (up to a few): command-line flags first, then misspelt fields (a misspelt
 * `hostz` is why `hosts` is missing), then in file order.
 */
function issueError(
  src: Source,
  located: Array<{ path: FieldPath; message: string }>,
  flagFor: (path: FieldPath) => string | undefined = () => undefined,
): Error {
  const withLines = located.map((i) => ({
    ...i,
    flag: flagFor(i.path),
    line: lineOf(src.doc, src.lines, i.path),
  }));
  withLines.sort(
    (a, b) =>
      Number(Boolean(b.flag)) - Number(Boolean(a.flag)) ||
      Number(b.message === UNKNOWN_FIELD) - Number(a.message === UNKNOWN_FIELD) ||
      (a.line ?? 0) - (b.line ?? 0),
  );
  const [first, ...rest] = withLines;
  const others = rest.slice(0, MAX_NAMED - 1).map((i) => {
    const where = i.flag ?? (i.line === undefined ? '' : `line ${i.line} `);
    return i.flag ? `${where}: ${i.message}` : `${where}${formatPath(i.path)}: ${i.message}`;
  });
  const unnamed = rest.length - others.length;
  const more =
    (others.length ? `; also ${others.join('; ')}` : '') +
    (unnamed ? ` (and ${unnamed} more problem${unnamed > 1 ? 's' : ''})` : '');
  if (first!.flag) return new UsageError(`${first!.flag}: ${first!.message}${more}`);
  const where = first!.line === undefined ? src.file : `${src.file}:${first!.line}`;
  return new InputError(`${where}: ${formatPath(first!.path)}: ${first!.message}${more}`);
}

function zodError(src: Source, error: z.ZodError, flagFor?: (path: FieldPath) => string | undefined): Error {
  return issueError(src, describeIssues(error.issues), flagFor);
}

function startsWith(path: FieldPath, prefix: FieldPath): boolean {
  return prefix.length <= path.length && prefix.every((seg, i) => String(seg) === String(path[i]));
}

function applyOverrides(doc: Document, sets: SetOverride[], envArgs: string[]): number {
  for (const s of sets) doc.setIn(s.path, doc.createNode(s.value));
  const existing = doc.getIn(['spec', 'env'], true);
  const envCount = isSeq(existing) ? existing.items.length : 0;
  if (envArgs.length > 0) {
    if (envCount > 0) for (const e of envArgs) doc.addIn(['spec', 'env'], doc.createNode(e));
    else doc.setIn(['spec', 'env'], doc.createNode(envArgs));
  }
  return envCount;
}

function checkReferences(
  src: Source,
  raw: unknown,
  environment: NodeJS.ProcessEnv,
  flagFor: (path: FieldPath) => string | undefined,
): void {
  const paths = [...sshFieldPaths(raw, referenceKeys), ...envEntryPaths(raw)];
  for (const path of paths) {
    const value = getPath(raw, path);
    if (typeof value !== 'string') continue;
    const checked = path.includes('env') ? value.slice(value.indexOf('=') + 1) : value;
    const unset = referencedVariables(checked).find((name) => environment[name] === undefined);
    if (unset !== undefined) {
      throw issueError(
        src,
        [{ path, message: `\${${unset}} is not set in the environment; export ${unset} or write the value` }],
        flagFor,
      );
    }
  }
}

function decryptSecrets(src: Source, raw: unknown): void {
  const open = (path: FieldPath, value: string): string => {
    try {
      return decryptSecret(value);
    } catch (err) {
      throw issueError(src, [{ path, message: (err as Error).message }]);
    }
  };
  for (const path of sshFieldPaths(raw, secretKeys)) {
    const value = getPath(raw, path) as string;
    const plain = open(path, value);
    if (plain !== value) setPath(raw, path, plain);
    if (!isPureReference(plain)) registerSecret(plain);
  }
  for (const path of secretEnvPaths(raw)) {
    const { key, value } = splitEnvEntry(getPath(raw, path) as string);
    const plain = open(path, value);
    if (plain !== value) setPath(raw, path, `${key}=${plain}`);
    if (!isPureReference(plain)) registerSecret(plain);
  }
}

function loadCluster(src: Source, options: LoadOptions): Cluster {
  const sets = (options.set ?? []).map(parseSetOverride);
  const envArgs = (options.env ?? []).map((e) => parseEnvArg(e));
  const envStart = applyOverrides(src.doc, sets, envArgs);
  const flagFor = (path: FieldPath): string | undefined => {
    const set = [...sets].reverse().find((s) => startsWith(path, s.path));
    if (set) return `--set ${formatPath(path)}`;
    if (envArgs.length > 0 && startsWith(path, ['spec', 'env']) && Number(path[2]) >= envStart) {
      return `-e ${envArgs[Number(path[2]) - envStart]?.split('=')[0]}`;
    }
    return undefined;
  };
  const raw = documentValue(src.doc, src.file);
  decryptSecrets(src, raw);
  const parsed = clusterSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) throw zodError(src, parsed.error, flagFor);
  if (options.checkVariables !== false)
    checkReferences(src, raw, options.environment ?? process.env, flagFor);
  return parsed.data;
}

function loadDistributionDoc(src: Source, kind: string, raw: Record<string, unknown>): DistributionDoc {
  const { group, distribution } = distributionKinds[kind]!;
  const apiVersion = raw.apiVersion;
  if (typeof apiVersion !== 'string' || !apiVersion.startsWith(`${group}/`)) {
    throw issueError(src, [
      { path: ['apiVersion'], message: `a ${kind} document needs apiVersion ${group}/<version>` },
    ]);
  }
  if (kind === 'K3sConfig') {
    const parsed = k3sConfigSchema.safeParse(raw, { reportInput: true });
    if (!parsed.success) throw zodError(src, parsed.error);
  }
  const line = lineOf(src.doc, src.lines, []) ?? 1;
  return {
    kind,
    apiVersion,
    distribution,
    object: raw,
    file: src.file,
    line,
    fieldLines: fieldLines(src.doc, src.lines),
  };
}

/** Parses Clusterfile text; `file` is the name used in messages. */
export function parseClusterfile(text: string, file: string, options: LoadOptions = {}): LoadedClusterfile {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines });
  if (!Array.isArray(docs) || docs.every((d) => d.contents === null && d.errors.length === 0))
    throw new InputError(`${file}: empty; a Clusterfile needs a kind: Cluster document`);
  let cluster: Cluster | undefined;
  const configs: ConfigDoc[] = [];
  const distributionDocs: DistributionDoc[] = [];
  for (const doc of docs) {
    const syntax = doc.errors[0];
    if (syntax) {
      const line = syntax.linePos?.[0].line;
      throw new InputError(`${file}${line ? `:${line}` : ''}: YAML syntax: ${firstLine(syntax.message)}`);
    }
    if (doc.contents === null) continue;
    const src: Source = { file, doc, lines };
    const raw = documentValue(doc, file);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw issueError(src, [{ path: [], message: 'a document must be a mapping with apiVersion and kind' }]);
    }
    const kind = (raw as Record<string, unknown>).kind;
    if (kind === 'Cluster') {
      if (cluster)
        throw issueError(src, [{ path: ['kind'], message: 'a second Cluster document; keep one' }]);
      cluster = loadCluster(src, options);
    } else if (kind === 'Config') {
      const parsed = configDocSchema.safeParse(raw, { reportInput: true });
      if (!parsed.success) throw zodError(src, parsed.error);
      configs.push(parsed.data);
    } else if (typeof kind === 'string' && kind in distributionKinds) {
      distributionDocs.push(loadDistributionDoc(src, kind, raw as Record<string, unknown>));
    } else {
      throw issueError(src, [
        {
          path: ['kind'],
          message:
            kind === undefined
              ? `is required (one of ${documentKinds.join(', ')})`
              : `unknown kind ${JSON.stringify(kind)}; expected one of ${documentKinds.join(', ')}`,
        },
      ]);
    }
  }
  if (!cluster) throw new InputError(`${file}: no kind: Cluster document; a Clusterfile needs one`);
  return { file, cluster, configs, distributionDocs };
}
