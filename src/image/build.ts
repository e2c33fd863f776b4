import { lstat, mkdtemp, open, readFile, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, relative, resolve, sep } from 'node:path';
import { recordDir } from '../util/dir-undo.js';
import { BerthError, InputError, NotFoundError, UsageError } from '../util/errors.js';
import { removeOnExit } from '../util/interrupt.js';
import { log } from '../util/log.js';
import { reproducibleCreated, writeImage } from './image-write.js';
import {
  applyConfigStep,
  atLine,
  declareArgs,
  envMap,
  maxValueBytes,
  platformArgs,
  type StageState,
  stageLookup,
} from './kubefile/config-steps.js';
import {
  type IgnoreFilter,
  loadDockerignore,
  matchSources,
  normaliseSource,
} from './kubefile/copy-sources.js';
import { checkKubefileText, type Instruction, maxKubefileBytes, parseKubefile } from './kubefile/parse.js';
import { processWord, processWords } from './kubefile/shell-words.js';
import { openTar, unpackLayer, unpackLayers } from './layer-unpack.js';
import {
  collectTree,
  type LayerCompression,
  type LayerEntry,
  pathEntry,
  withParents,
  writeLayer,
} from './layer-write.js';
import { ImageStore } from './store.js';
import {
  type Descriptor,
  hostPlatform,
  type ImageConfig,
  type ImageIndex,
  MediaType,
  type Platform,
  parsePlatform,
} from './types.js';

export type PullPolicy = 'missing' | 'always' | 'never';

export interface BuildOptions {
  contextDir: string;
  /** Kubefile path; default CONTEXT/Sealfile, CONTEXT/Kubefile or CONTEXT/Dockerfile, first found. */
  file?: string;
  /** Names to tag the result with. */
  tags: string[];
  buildArgs?: Record<string, string>;
  /** One image per platform; several make an index of them. Default: this host's. */
  platforms?: Platform[];
  /** Compression level of new layers (gzip 1-9, default 1; zstd 1-19, default 3). */
  level?: number;
  compression?: LayerCompression;
  /** `K=V` labels set on the result after the Kubefile ran (buildah's --label); `K` alone sets "". */
  labels?: string[];
  /** `K=V` env set on the result after the Kubefile ran, V expanded against the image env (buildah's --env). */
  env?: string[];
  /** When FROM images are pulled: 'never' (default) needs them in the store. */
  pull?: PullPolicy;
  /** Pulls a FROM image into the store (the CLI passes the registry client in). */
  pullBase?: (ref: string, platform: Platform) => Promise<void>;
  store?: ImageStore;
  /**
   * Runs once before any layer is written, e.g. to fill CONTEXT/registry/ with the images listed in
   * CONTEXT/images/shim; what it adds under CONTEXT/registry/ is taken back when the build fails.
   */
  beforeLayers?: (contextDir: string, platforms: Platform[]) => Promise<void>;
}

export interface BuildResult {
  /** The manifest, or the index of the per-platform manifests. */
  manifestDescriptor: Descriptor;
  /** The config of the first platform's image. */
  configDescriptor: Descriptor;
  tags: string[];
}

interface Stage extends StageState {
  name?: string;
  layers: Descriptor[];
  /** Directories WORKDIR asked for that no layer of this stage holds yet. */
  pendingDirs: Set<string>;
  /** Directories this stage's layers hold. */
  dirs: Set<string>;
}

const kubefileNames = ['Sealfile', 'Kubefile', 'Dockerfile'];

export async function findKubefile(contextDir: string): Promise<string> {
  for (const name of kubefileNames) {
    const path = join(contextDir, name);
    if (
      await lstat(path).then(
        () => true,
        () => false,
      )
    )
      return path;
  }
  throw new InputError(
    `${contextDir}: no ${kubefileNames.join(', ')} found in the build context; pass -f FILE`,
  );
}

async function checkContext(contextDir: string): Promise<void> {
  const st = await stat(contextDir).catch(() => undefined);
  if (!st?.isDirectory()) throw new InputError(`${contextDir}: build context is not a directory`);
}

export async function buildImage(options: BuildOptions): Promise<BuildResult> {
  const store = options.store ?? new ImageStore();
  await checkContext(options.contextDir);
  const file = options.file ?? (await findKubefile(options.contextDir));
  const shownName = options.file ? file : basename(file);
  const st = await stat(file).catch(() => undefined);
  if (!st?.isFile()) throw new InputError(`${file}: cannot read the Kubefile (not a file)`);
  // Never read more than a Kubefile can be, whatever the path names.
  if (st.size > maxKubefileBytes)
    throw new InputError(
      `${shownName}: ${st.size} bytes is too large for a Kubefile (at most ${maxKubefileBytes}); is -f the right file?`,
    );
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    throw new InputError(`${file}: cannot read the Kubefile`);
  }
  const instructions = parseKubefile(checkKubefileText(bytes, shownName), shownName);
  if (!instructions.some((i) => i.keyword === 'FROM'))
    throw new InputError(`${shownName}: no FROM instruction`);
  for (const [k, v] of Object.entries(options.buildArgs ?? {}))
    if (Buffer.byteLength(v) > maxValueBytes)
      throw new InputError(
        `--build-arg ${k}: value is ${Buffer.byteLength(v)} bytes; at most ${maxValueBytes}`,
      );
  const platforms = options.platforms?.length ? options.platforms : [hostPlatform()];
  const created = new Set<string>();
  const undoRegistry = await recordDir(join(options.contextDir, 'registry'));
  try {
    await options.beforeLayers?.(options.contextDir, platforms);
    const images: Array<{ manifest: Descriptor; config: Descriptor; platform: Platform }> = [];
    for (const platform of platforms) {
      const builder = new Builder(store, options, shownName, platform, created);
      try {
        for (const ins of instructions) await builder.step(ins);
        const stage = await builder.finish();
        const written = await writeImage(store, stage.config, stage.layers, undefined, created);
        images.push({ manifest: written.manifestDescriptor, config: written.configDescriptor, platform });
      } finally {
        await builder.cleanup();
      }
    }
    const first = images[0] as (typeof images)[number];
    let top = first.manifest;
    if (images.length > 1) {
      const index: ImageIndex = {
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: images.map((i) => ({ ...i.manifest, platform: i.platform })),
      };
      const blob = await store.putBlob(Buffer.from(JSON.stringify(index)), undefined, created);
      top = { mediaType: MediaType.ociIndex, ...blob };
    }
    for (const tag of options.tags) await store.tag(tag, top);
    return { manifestDescriptor: top, configDescriptor: first.config, tags: options.tags };
  } catch (err) {
    // A failed build leaves neither new files in CONTEXT/registry nor blobs no name reaches.
    await undoRegistry().catch((e: unknown) => log.debug(`undo registry/: ${String(e)}`));
    await store.discardBlobs(created).catch((e: unknown) => log.debug(`discard blobs: ${String(e)}`));
    throw err;
  }
}

/** os.Expand as buildah applies it to --env values: `$K` and `${K}` from the image env. */
function expandEnv(text: string, env: Map<string, string>): string {
  return text.replace(
    /\$\{([^}]*)\}|\$([A-Za-z0-9_]+)/g,
    (_, a?: string, b?: string) => env.get((a ?? b) as string) ?? '',
  );
}

class Builder {
  private readonly stages: Stage[] = [];
  private readonly globalArgs = new Map<string, string>();
  private readonly scratchDirs: string[] = [];
  private readonly fromRoots = new Map<string, string>();
  private ignored: IgnoreFilter | undefined;
  private readonly created = reproducibleCreated();
  private readonly autoArgs: Map<string, string>;

  constructor(
    private readonly store: ImageStore,
    private readonly options: BuildOptions,
    private readonly file: string,
    private readonly platform: Platform,
    private readonly createdBlobs: Set<string>,
  ) {
    this.autoArgs = platformArgs(platform, hostPlatform());
  }

  private current(): Stage {
    return this.stages[this.stages.length - 1] as Stage;
  }

  async cleanup(): Promise<void> {
    for (const dir of this.scratchDirs) await rm(dir, { recursive: true, force: true });
  }

  /** The last stage with WORKDIR's directories written and --label/--env applied. */
  async finish(): Promise<Stage> {
    const stage = this.current();
    if (stage.pendingDirs.size > 0) {
      const entries = [...stage.pendingDirs].map((path) => ({ path, type: 'dir' as const, mode: 0o755 }));
      await this.addLayer(stage, entries, `WORKDIR ${stage.config.config?.WorkingDir ?? ''}`, `${this.file}`);
    }
    stage.config.config ??= {};
    const cfg = stage.config.config;
    for (const spec of this.options.labels ?? []) {
      const eq = spec.indexOf('=');
      cfg.Labels = { ...cfg.Labels, [eq < 0 ? spec : spec.slice(0, eq)]: eq < 0 ? '' : spec.slice(eq + 1) };
    }
    for (const spec of this.options.env ?? []) {
      const env = envMap(stage.config);
      const eq = spec.indexOf('=');
      const key = eq < 0 ? spec : spec.slice(0, eq);
      env.set(key, eq < 0 ? (process.env[key] ?? '') : expandEnv(spec.slice(eq + 1), env));
      cfg.Env = [...env].map(([k, v]) => `${k}=${v}`);
    }
    stage.config.created = reproducibleCreated();
    return stage;
  }

  async step(ins: Instruction): Promise<void> {
    const at = `${this.file}:${ins.line}`;
    this.checkFlags(ins, at);
    if (ins.keyword === 'FROM') return this.from(ins, at);
    if (this.stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new InputError(`${at}: ${ins.keyword} before the first FROM`);
      const g = this.globalArgs;
      declareArgs(
        ins,
        at,
        (n) => g.get(n),
        g,
        (n) => this.autoArgs.get(n),
        this.options.buildArgs ?? {},
      );
      return;
    }
    const stage = this.current();
    if (ins.keyword === 'ARG') {
      declareArgs(
        ins,
        at,
        stageLookup(stage),
        stage.args,
        (n) => this.globalArgs.get(n) ?? this.autoArgs.get(n),
        this.options.buildArgs ?? {},
      );
      return;
    } else if (ins.keyword === 'COPY' || ins.keyword === 'ADD') {
      return this.copy(ins, at, stage);
    } else {
      applyConfigStep(stage, ins, at);
      if (ins.keyword === 'WORKDIR') {
        const dir = (stage.config.config?.WorkingDir ?? '/').replace(/^\/+/, '');
        const path = posix.normalize(dir).replace(/\/$/, '');
        if (path && path !== '.' && !stage.dirs.has(path)) stage.pendingDirs.add(path);
      }
    }
    this.history(stage, `${ins.keyword} ${ins.text}`, true);
  }

  private checkFlags(ins: Instruction, at: string): void {
    const allowed: Record<string, string[]> = {
      FROM: ['platform'],
      COPY: ['from', 'chmod', 'chown'],
      ADD: ['chmod', 'chown'],
    };
    for (const flag of Object.keys(ins.flags)) {
      if (!(allowed[ins.keyword] ?? []).includes(flag))
        throw new InputError(`${at}: ${ins.keyword} has no flag --${flag}`);
    }
  }

  private history(stage: Stage, createdBy: string, empty: boolean): void {
    const entry: { created: string; created_by: string; empty_layer?: boolean } = {
      created: this.created,
      created_by: createdBy,
    };
    if (empty) entry.empty_layer = true;
    stage.config.history ??= [];
    stage.config.history.push(entry);
  }

  private async from(ins: Instruction, at: string): Promise<void> {
    const g = this.globalArgs;
    const words = atLine(at, () => processWords(ins.text, (n) => g.get(n)));
    const image = words[0] as string;
    let name: string | undefined;
    if (words.length === 3 && words[1]?.toUpperCase() === 'AS') name = words[2];
    else if (words.length !== 1) throw new InputError(`${at}: FROM takes IMAGE [AS NAME]`);
    const platform = ins.flags.platform
      ? platformAt(
          atLine(at, () => processWord(ins.flags.platform as string, (n) => g.get(n))),
          at,
        )
      : this.platform;
    const fresh = { args: new Map<string, string>(), cmdSet: false, pendingDirs: new Set<string>() };
    if (image === 'scratch') {
      this.stages.push({
        name,
        config: {
          architecture: platform.architecture,
          os: platform.os,
          ...(platform.variant ? { variant: platform.variant } : {}),
          config: {},
          rootfs: { type: 'layers', diff_ids: [] },
          history: [],
        },
        layers: [],
        dirs: new Set(),
        ...fresh,
      });
      return;
    }
    const stage = this.stages.find((s) => s.name === image);
    if (stage) {
      this.stages.push({
        name,
        config: structuredClone(stage.config),
        layers: [...stage.layers],
        dirs: new Set(stage.dirs),
        ...fresh,
      });
      return;
    }
    const base = await this.loadImage(image, platform, at, true);
    const config: ImageConfig = structuredClone(base.config);
    config.history ??= [];
    delete config.created;
    this.stages.push({ name, config, layers: [...base.manifest.layers], dirs: new Set(), ...fresh });
  }

  private async loadImage(ref: string, platform: Platform, at: string, isBase = false) {
    const policy = this.options.pull ?? 'never';
    const pull = isBase && this.options.pullBase;
    let present = true;
    try {
      await this.store.resolve(ref);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      present = false;
    }
    if (pull && (policy === 'always' || (policy === 'missing' && !present))) {
      await pull(ref, platform);
      present = true;
    }
    if (!present)
      throw new NotFoundError(`${at}: image ${ref} is not in the local store; run berth pull ${ref} first`);
    try {
      return await this.store.image(ref, platform);
    } catch (err) {
      if (err instanceof BerthError) throw new NotFoundError(`${at}: ${err.message}`);
      throw err;
    }
  }

  private async copy(ins: Instruction, at: string, stage: Stage): Promise<void> {
    const lookup = stageLookup(stage);
    const flag = (name: string) => {
      const v = ins.flags[name];
      return v === undefined ? undefined : atLine(at, () => processWord(v, lookup));
    };
    const args = ins.json
      ? ins.json.map((w) => atLine(at, () => processWord(w, lookup)))
      : atLine(at, () => processWords(ins.text, lookup));
    if (args.length < 2) throw new InputError(`${at}: ${ins.keyword} needs SOURCE... DEST`);
    const dest = args[args.length - 1] as string;
    const sources = args.slice(0, -1);
    const from = flag('from');
    const root = from ? await this.fromRoot(from, at) : this.options.contextDir;
    const realRoot = await realpath(root);
    const where = from ? `image ${from}` : 'the build context';
    const ignored = from ? () => false : await this.contextIgnore();
    const chmodText = flag('chmod');
    let chmod: number | undefined;
    if (chmodText !== undefined) {
      if (!/^[0-7]{3,4}$/.test(chmodText))
        throw new InputError(`${at}: --chmod wants an octal mode like 755`);
      chmod = Number.parseInt(chmodText, 8);
    }
    const owner = parseChown(flag('chown'), at);
    const matched: Array<{ rel: string; real: string }> = [];
    for (const src of sources) {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(src)) {
        throw new InputError(
          `${at}: ${ins.keyword} ${src}: berth builds offline; download it into the build context and COPY it`,
        );
      }
      const norm = normaliseSource(src);
      if (norm === undefined) throw new InputError(`${at}: ${ins.keyword} source ${src} is outside ${where}`);
      const hits = await matchSources(root, norm, ignored);
      if (hits.length === 0) {
        throw new InputError(
          `${at}: ${ins.keyword} source ${src} matches no file in ${where}${from ? '' : ' (check .dockerignore)'}`,
        );
      }
      for (const rel of hits) matched.push({ rel, real: await insideRoot(root, realRoot, rel, at, where) });
    }
    const workdir = stage.config.config?.WorkingDir ?? '/';
    const destAbs = dest.startsWith('/') ? dest : posix.join(workdir, dest);
    const destPath = posix.normalize(`/${destAbs}`).slice(1).replace(/\/$/, '');
    let destIsDir = dest.endsWith('/') || dest === '.' || matched.length > 1;
    for (const m of matched) if ((await stat(m.real)).isDirectory()) destIsDir = true;
    const entries: LayerEntry[] = [];
    for (const m of matched) {
      const st = await stat(m.real);
      if (st.isDirectory()) {
        const tree = await collectTree(m.real, destPath, (rel) => !ignored(m.rel ? `${m.rel}/${rel}` : rel));
        for (const e of tree) if (e.type === 'symlink') checkLink(e, realRoot, at, where);
        entries.push(...tree.map((e) => ({ ...e, ...owner })));
        continue;
      }
      const target = destIsDir ? posix.join(destPath, posix.basename(m.rel)) : destPath;
      if (ins.keyword === 'ADD' && st.isFile() && (await isArchive(m.real))) {
        const dir = await this.scratch();
        await unpackLayer(await openTar(m.real, `${at}: ${m.rel}`), dir, `${this.file}:${ins.line} ${m.rel}`);
        entries.push(
          ...(await collectTree(dir, destIsDir ? destPath : target)).map((e) => ({ ...e, ...owner })),
        );
        continue;
      }
      if (!target)
        throw new InputError(`${at}: ${ins.keyword} ${m.rel} needs a destination path other than /`);
      entries.push({ ...(await pathEntry(m.real, target)), ...owner });
    }
    // --chmod and --chown apply to what was copied; a destination directory made for it is 0755 root's.
    if (chmod !== undefined) for (const e of entries) if (e.type !== 'symlink') e.mode = chmod;
    if (destIsDir && destPath && !entries.some((e) => e.path === destPath))
      entries.push({ path: destPath, type: 'dir', mode: 0o755 });
    for (const e of entries) {
      if (e.type !== 'symlink' || !e.linkname || e.linkname.startsWith('/')) continue;
      const resolved = posix.normalize(posix.join(posix.dirname(e.path), e.linkname));
      if (resolved === '..' || resolved.startsWith('../'))
        throw new InputError(
          `${at}: ${ins.keyword}: the symlink /${e.path} -> ${e.linkname} leads outside the image root`,
        );
    }
    await this.addLayer(stage, entries, `${ins.keyword} ${ins.text}`, at);
  }

  private async addLayer(stage: Stage, entries: LayerEntry[], createdBy: string, at: string): Promise<void> {
    const all = withParents(entries);
    const paths = new Set(all.map((e) => e.path));
    for (const dir of stage.pendingDirs) {
      if (!paths.has(dir)) all.push({ path: dir, type: 'dir', mode: 0o755 });
    }
    const complete = withParents(all);
    stage.pendingDirs.clear();
    for (const e of complete) if (e.type === 'dir') stage.dirs.add(e.path);
    const layer = await writeLayer(this.store, complete, {
      level: this.options.level,
      compression: this.options.compression,
      created: this.createdBlobs,
    });
    log.debug(`${at}: layer ${layer.descriptor.digest} (${layer.tarSize} bytes uncompressed)`);
    stage.layers.push(layer.descriptor);
    stage.config.rootfs.diff_ids.push(layer.diffId);
    this.history(stage, createdBy, false);
  }

  private async contextIgnore(): Promise<IgnoreFilter> {
    this.ignored ??= await loadDockerignore(this.options.contextDir);
    return this.ignored;
  }

  /** The files of a named stage or a stored image, unpacked once per build. */
  private async fromRoot(from: string, at: string): Promise<string> {
    const cached = this.fromRoots.get(from);
    if (cached) return cached;
    const stage = this.stages.find((s) => s.name === from);
    const layers = stage ? stage.layers : (await this.loadImage(from, this.platform, at)).manifest.layers;
    const dir = await this.scratch();
    await unpackLayers(this.store, layers, dir);
    this.fromRoots.set(from, dir);
    return dir;
  }

  private async scratch(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'berth-build-'));
    removeOnExit(dir, true);
    this.scratchDirs.push(dir);
    return dir;
  }
}

/**
 * The real path of a COPY source, which buildah follows when it is a symlink (or passes through one):
 * it must stay inside the root, or files from elsewhere on this machine would land in the image.
 */
async function insideRoot(
  root: string,
  realRoot: string,
  rel: string,
  at: string,
  where: string,
): Promise<string> {
  const abs = join(root, rel);
  let real: string;
  try {
    real = await realpath(abs);
  } catch {
    throw new InputError(`${at}: ${rel} is a symlink to a missing file`);
  }
  if (real !== realRoot && !real.startsWith(realRoot + sep))
    throw new InputError(`${at}: ${rel} leads outside ${where} (to ${real})`);
  return real;
}

/** A symlink copied as a link must point inside the root it came from, as seen from where it is. */
function checkLink(e: LayerEntry, realRoot: string, at: string, where: string): void {
  if (!e.source || !e.linkname || e.linkname.startsWith('/')) return;
  const target = resolve(dirname(e.source), e.linkname);
  const rel = relative(realRoot, target);
  if (rel === '..' || rel.startsWith(`..${sep}`))
    throw new InputError(
      `${at}: the symlink ${relative(realRoot, e.source)} -> ${e.linkname} leads outside ${where}`,
    );
}

function platformAt(text: string, at: string): Platform {
  try {
    return parsePlatform(text);
  } catch (err) {
    if (err instanceof UsageError) throw new InputError(`${at}: FROM ${err.message}`);
    throw err;
  }
}

/** COPY --chown=UID[:GID]: numbers only, since a cluster image has no /etc/passwd to look names up in. */
function parseChown(text: string | undefined, at: string): { uid?: number; gid?: number } {
  if (text === undefined) return {};
  const m = /^(\d+)(?::(\d+))?$/.exec(text);
  if (m) {
    const uid = Number(m[1]);
    return { uid, gid: m[2] === undefined ? uid : Number(m[2]) };
  }
  if (text === 'root' || text === 'root:root') return { uid: 0, gid: 0 };
  throw new InputError(
    `${at}: --chown=${text}: give a numeric UID[:GID] (user names cannot be looked up in a cluster image)`,
  );
}

async function isArchive(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(262);
    const { bytesRead } = await fh.read(head, 0, 262, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return true;
    return bytesRead >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    await fh.close();
  }
}
