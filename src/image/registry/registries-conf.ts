import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { InputError, RegistryError } from '../../util/errors.js';
import { type ImageReference, parseReference } from '../reference.js';
import type { TransportOptions } from './transport.js';

// containers-registries.conf (version 2), as buildah and skopeo read it, for pulls and for saving the
// images a build context names: `[[registry]]` entries matched by the longest `prefix` (`host`,
// `host/namespace/repo` or `*.domain`), their `location` replacing that prefix, `[[registry.mirror]]`
// tried in order before it, `insecure` allowing plain HTTP or unverified TLS, `blocked` refusing the
// registry; `unqualified-search-registries` for names without a registry host. Read from
// --registries-conf, else $CONTAINERS_REGISTRIES_CONF, else ~/.config/containers/registries.conf when it
// exists, else /etc/containers/registries.conf, then the `*.conf` files of registries.conf.d/ beside the
// system file in name order (a later entry with the same prefix replaces an earlier one).

export interface Mirror {
  location: string;
  insecure: boolean;
  /** Used only for references by digest (`pull-from-mirror = "digest-only"` or `mirror-by-digest-only`). */
  digestOnly: boolean;
  tagOnly: boolean;
}

export interface RegistryEntry {
  prefix: string;
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrors: Mirror[];
  /** The file it came from, for messages. */
  file: string;
}

export interface RegistriesConf {
  registries: RegistryEntry[];
  unqualifiedSearch?: string[];
  /** The files read, in order. */
  files: string[];
}

/** One place to pull a reference from: a registry host and the repository path there. */
export interface PullSource {
  registry: string;
  repository: string;
  insecure: boolean;
  /** Text for messages: `mirror 127.0.0.1:5000 of docker.io`. */
  via?: string;
}

const systemFile = '/etc/containers/registries.conf';
const systemDir = '/etc/containers/registries.conf.d';

type Table = Record<string, unknown>;

function field<T>(
  t: Table,
  key: string,
  type: 'string' | 'boolean',
  file: string,
  where: string,
): T | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (typeof v !== type) throw new InputError(`${file}: ${where}.${key} must be a ${type}`);
  return v as T;
}

function parseFile(text: string, file: string, into: RegistriesConf): void {
  let doc: Table;
  try {
    doc = parse(text) as Table;
  } catch (err) {
    const line = err instanceof TomlError ? `:${err.line}` : '';
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new InputError(`${file}${line}: not valid TOML: ${msg}`);
  }
  if (doc.registries !== undefined && doc.registry === undefined)
    throw new InputError(
      `${file}: the version 1 format ([registries.search] ...) is not read; write [[registry]] tables (version 2)`,
    );
  const search = doc['unqualified-search-registries'];
  if (search !== undefined) {
    if (!Array.isArray(search) || !search.every((s) => typeof s === 'string'))
      throw new InputError(`${file}: unqualified-search-registries must be a list of registry hosts`);
    into.unqualifiedSearch = search as string[];
  }
  const list = doc.registry ?? [];
  if (!Array.isArray(list)) throw new InputError(`${file}: registry must be written as [[registry]] tables`);
  list.forEach((raw: unknown, i) => {
    const where = `registry[${i}]`;
    if (!raw || typeof raw !== 'object') throw new InputError(`${file}: ${where} is not a table`);
    const t = raw as Table;
    const location = field<string>(t, 'location', 'string', file, where) ?? '';
    const prefix = field<string>(t, 'prefix', 'string', file, where) ?? location;
    if (!prefix) throw new InputError(`${file}: ${where} needs a prefix or a location`);
    const pullFrom = field<string>(t, 'pull-from-mirror', 'string', file, where) ?? 'all';
    if (!['all', 'digest-only', 'tag-only'].includes(pullFrom))
      throw new InputError(`${file}: ${where}.pull-from-mirror must be all, digest-only or tag-only`);
    const byDigest = field<boolean>(t, 'mirror-by-digest-only', 'boolean', file, where) ?? false;
    const mirrorList = t.mirror ?? [];
    if (!Array.isArray(mirrorList))
      throw new InputError(`${file}: ${where}.mirror must be [[registry.mirror]] tables`);
    const mirrors = mirrorList.map((m: unknown, j): Mirror => {
      const mw = `${where}.mirror[${j}]`;
      const mt = (m ?? {}) as Table;
      const loc = field<string>(mt, 'location', 'string', file, mw);
      if (!loc) throw new InputError(`${file}: ${mw} needs a location`);
      const own = field<string>(mt, 'pull-from-mirror', 'string', file, mw) ?? pullFrom;
      return {
        location: loc,
        insecure: field<boolean>(mt, 'insecure', 'boolean', file, mw) ?? false,
        digestOnly: byDigest || own === 'digest-only',
        tagOnly: own === 'tag-only',
      };
    });
    const entry: RegistryEntry = {
      prefix,
      location: location || (prefix.startsWith('*.') ? '' : prefix),
      insecure: field<boolean>(t, 'insecure', 'boolean', file, where) ?? false,
      blocked: field<boolean>(t, 'blocked', 'boolean', file, where) ?? false,
      mirrors,
      file,
    };
    into.registries = into.registries.filter((r) => r.prefix !== prefix);
    into.registries.push(entry);
  });
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InputError(`${path}: cannot read: ${(err as Error).message}`);
  }
}

const cache = new Map<string, Promise<RegistriesConf>>();

/** Reads the registries configuration; `file` (--registries-conf) replaces every default location. */
export function loadRegistriesConf(file?: string): Promise<RegistriesConf> {
  const key = file ?? '';
  let conf = cache.get(key);
  if (!conf) {
    conf = (async () => {
      const out: RegistriesConf = { registries: [], files: [] };
      const given = file ?? process.env.CONTAINERS_REGISTRIES_CONF;
      if (given) {
        const text = await readIfExists(given);
        if (text === undefined) throw new InputError(`${given}: no such registries.conf file`);
        parseFile(text, given, out);
        out.files.push(given);
        return out;
      }
      const user = join(homedir(), '.config', 'containers', 'registries.conf');
      for (const path of [user, systemFile]) {
        const text = await readIfExists(path);
        if (text === undefined) continue;
        parseFile(text, path, out);
        out.files.push(path);
        break;
      }
      const names = await readdir(systemDir).catch(() => [] as string[]);
      for (const name of names.filter((n) => n.endsWith('.conf')).sort()) {
        const path = join(systemDir, name);
        const text = await readIfExists(path);
        if (text === undefined) continue;
        parseFile(text, path, out);
        out.files.push(path);
      }
      return out;
    })();
    conf.catch(() => cache.delete(key));
    cache.set(key, conf);
  }
  return conf;
}

/** Does `prefix` (a registries.conf prefix) cover the full name `name` (`host/repo`)? */
function prefixMatches(prefix: string, name: string): boolean {
  if (prefix.startsWith('*.')) {
    const host = name.split('/')[0] as string;
    return host.endsWith(prefix.slice(1));
  }
  if (name === prefix) return true;
  return (
    name.startsWith(prefix) &&
    (name[prefix.length] === '/' || name[prefix.length] === ':' || name[prefix.length] === '@')
  );
}

/** The entry with the longest prefix covering `ref`, if any. */
export function findRegistry(conf: RegistriesConf, ref: ImageReference): RegistryEntry | undefined {
  const name = `${ref.registry}/${ref.repository}`;
  let best: RegistryEntry | undefined;
  for (const r of conf.registries) {
    if (!prefixMatches(r.prefix, name)) continue;
    const len = r.prefix.startsWith('*.') ? 0 : r.prefix.length;
    const bestLen = best ? (best.prefix.startsWith('*.') ? 0 : best.prefix.length) : -1;
    if (len > bestLen) best = r;
  }
  return best;
}

function rewrite(name: string, prefix: string, location: string): { registry: string; repository: string } {
  // A wildcard prefix matches the host, which the location (if any) replaces.
  const matched = prefix.startsWith('*.') ? (name.split('/')[0] as string).length : prefix.length;
  const rest = location ? `${location}${name.slice(matched)}` : name;
  const slash = rest.indexOf('/');
  return { registry: rest.slice(0, slash), repository: rest.slice(slash + 1) };
}

/** True when `text` names its registry host (otherwise unqualified-search-registries apply). */
export function isQualified(text: string): boolean {
  const first = text.split('/')[0] as string;
  return text.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
}

/**
 * Where to pull `text` from, in order: for each candidate name (the search registries for an
 * unqualified name), the mirrors of its registry entry, then its location. A blocked registry is an error.
 */
export function pullSources(conf: RegistriesConf, text: string): PullSource[] {
  const parsed = parseReference(text);
  const candidates: ImageReference[] =
    !isQualified(text) && conf.unqualifiedSearch?.length
      ? conf.unqualifiedSearch.map((registry) => parseReference(`${registry}/${text}`))
      : [parsed];
  const out: PullSource[] = [];
  for (const ref of candidates) {
    const entry = findRegistry(conf, ref);
    if (!entry) {
      out.push({ registry: ref.registry, repository: ref.repository, insecure: false });
      continue;
    }
    if (entry.blocked)
      throw new RegistryError(
        `${text}: registry ${ref.registry} is blocked in ${entry.file} (prefix "${entry.prefix}")`,
      );
    const name = `${ref.registry}/${ref.repository}`;
    for (const m of entry.mirrors) {
      if (m.digestOnly && !ref.digest) continue;
      if (m.tagOnly && ref.digest) continue;
      out.push({
        ...rewrite(name, entry.prefix, m.location),
        insecure: m.insecure,
        via: `mirror ${m.location} of ${ref.registry}`,
      });
    }
    out.push({ ...rewrite(name, entry.prefix, entry.location), insecure: entry.insecure });
  }
  if (out.length === 0)
    throw new RegistryError(`${text}: registries.conf leaves no registry to pull it from`);
  return out;
}

/**
 * Runs `fn` against each pull source of `text` in turn until one succeeds; the error of the last one
 * (the registry itself) is thrown, naming the mirrors that failed before it.
 */
export async function fromFirstSource<T>(
  text: string,
  confFile: string | undefined,
  fn: (source: PullSource) => Promise<T>,
): Promise<T> {
  const sources = pullSources(await loadRegistriesConf(confFile), text);
  const failed: string[] = [];
  for (const [i, source] of sources.entries()) {
    try {
      return await fn(source);
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
      if (i < sources.length - 1) {
        failed.push(`${source.via ?? source.registry}: ${err.message}`);
        continue;
      }
      if (failed.length === 0) throw err;
      throw new RegistryError(`${err.message} (after ${failed.join('; ')})`, { cause: err });
    }
  }
  throw new RegistryError(`${text}: no registry to pull it from`);
}

/** Client options for one pull source: an `insecure` registries.conf entry allows plain HTTP to it. */
export function sourceOptions<T extends TransportOptions>(opts: T, source: PullSource): T {
  if (!source.insecure) return opts;
  return { ...opts, insecureRegistries: [...(opts.insecureRegistries ?? []), source.registry] };
}
