import { lstat, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import { BerthError, InputError, NotFoundError } from '../util/errors.js';
import { removeOnExit } from '../util/interrupt.js';
import { log } from '../util/log.js';
import { reproducibleCreated, writeImage } from './image-write.js';
import {
  type IgnoreFilter,
  loadDockerignore,
  matchSources,
  normaliseSource,
} from './kubefile/copy-sources.js';
import { type Instruction, parseKubefile, parsePairs, splitWords, substitute } from './kubefile/parse.js';
import { openTar, unpackLayer, unpackLayers } from './layer-unpack.js';
import { collectTree, type LayerEntry, pathEntry, withParents, writeLayer } from './layer-write.js';
import { ImageStore } from './store.js';
import { type Descriptor, formatPlatform, hostPlatform, type ImageConfig, type Platform } from './types.js';

export interface BuildOptions {
  contextDir: string;
  /** Kubefile path; default CONTEXT/Sealfile, CONTEXT/Kubefile or CONTEXT/Dockerfile, first found. */
  file?: string;
  /** Names to tag the result with. */
  tags: string[];
  buildArgs?: Record<string, string>;
  platform?: Platform;
  /** gzip level of new layers (1-9, default 1). */
  level?: number;
  store?: ImageStore;
  /** Runs once before any layer is written, e.g. to fill CONTEXT/registry/ with the images listed in CONTEXT/images/shim. */
  beforeLayers?: (contextDir: string) => Promise<void>;
}

export interface BuildResult {
  manifestDescriptor: Descriptor;
  configDescriptor: Descriptor;
  tags: string[];
}

interface Stage {
  name?: string;
  config: ImageConfig;
  layers: Descriptor[];
  vars: Map<string, string>;
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

export async function buildImage(options: BuildOptions): Promise<BuildResult> {
  const store = options.store ?? new ImageStore();
  const file = options.file ?? (await findKubefile(options.contextDir));
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch {
    throw new InputError(`${file}: cannot read the Kubefile`);
  }
  const shownName = options.file ? file : basename(file);
  const instructions = parseKubefile(source, shownName);
  if (!instructions.some((i) => i.keyword === 'FROM'))
    throw new InputError(`${shownName}: no FROM instruction`);
  const builder = new Builder(store, options, shownName);
  try {
    // A failed or interrupted build takes its layers out of the store again.
    return await store.undoOnFailure(async () => {
      await options.beforeLayers?.(options.contextDir);
      for (const ins of instructions) await builder.step(ins);
      const stage = builder.current();
      stage.config.created = reproducibleCreated();
      const { manifestDescriptor, configDescriptor } = await writeImage(store, stage.config, stage.layers);
      for (const tag of options.tags) await store.tag(tag, manifestDescriptor);
      return { manifestDescriptor, configDescriptor, tags: options.tags };
    });
  } finally {
    await builder.cleanup();
  }
}

class Builder {
  private readonly stages: Stage[] = [];
  private readonly globalArgs = new Map<string, string>();
  private readonly scratchDirs: string[] = [];
  private readonly fromRoots = new Map<string, string>();
  private ignored: IgnoreFilter | undefined;
  private readonly platform: Platform;
  private readonly created = reproducibleCreated();

  constructor(
    private readonly store: ImageStore,
    private readonly options: BuildOptions,
    private readonly file: string,
  ) {
    this.platform = options.platform ?? hostPlatform();
  }

  current(): Stage {
    return this.stages[this.stages.length - 1] as Stage;
  }

  async cleanup(): Promise<void> {
    for (const dir of this.scratchDirs) await rm(dir, { recursive: true, force: true });
  }

  async step(ins: Instruction): Promise<void> {
    const at = `${this.file}:${ins.line}`;
    if (ins.keyword === 'FROM') return this.from(ins, at);
    if (this.stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new InputError(`${at}: ${ins.keyword} before the first FROM`);
      this.arg(ins, at, this.globalArgs);
      return;
    }
    const stage = this.current();
    stage.config.config ??= {};
    const cfg = stage.config.config;
    switch (ins.keyword) {
      case 'ARG':
        this.arg(ins, at, stage.vars);
        return;
      case 'ENV': {
        const env = new Map((cfg.Env ?? []).map((e) => splitEnv(e)));
        for (const [k, v] of parsePairs(substitute(ins.text, stage.vars), at, 'ENV')) {
          env.set(k, v);
          stage.vars.set(k, v);
        }
        cfg.Env = [...env].map(([k, v]) => `${k}=${v}`);
        break;
      }
      case 'LABEL': {
        const labels = { ...cfg.Labels };
        for (const [k, v] of parsePairs(substitute(ins.text, stage.vars), at, 'LABEL')) labels[k] = v;
        cfg.Labels = labels;
        break;
      }
      case 'CMD':
      case 'ENTRYPOINT': {
        // Shell form stays one string, as cluster images expect: it is run by a shell on the host later.
        const value = ins.json ?? (ins.text ? [ins.text] : []);
        if (ins.keyword === 'CMD') cfg.Cmd = value;
        else cfg.Entrypoint = value;
        break;
      }
      case 'MAINTAINER':
        stage.config.author = ins.text;
        break;
      case 'COPY':
      case 'ADD':
        await this.copy(ins, at, stage);
        return;
    }
    this.history(stage, `${ins.keyword} ${ins.text}`, true);
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

  private arg(ins: Instruction, at: string, vars: Map<string, string>): void {
    const text = substitute(ins.text, vars);
    const eq = text.indexOf('=');
    const name = (eq >= 0 ? text.slice(0, eq) : text).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new InputError(`${at}: ARG name "${name}" is not valid`);
    const given = this.options.buildArgs?.[name];
    const fallback = eq >= 0 ? splitWords(text.slice(eq + 1)).join(' ') : this.globalArgs.get(name);
    const value = given ?? fallback;
    if (value !== undefined) vars.set(name, value);
  }

  private async from(ins: Instruction, at: string): Promise<void> {
    const words = splitWords(substitute(ins.text, this.globalArgs));
    const image = words[0] as string;
    let name: string | undefined;
    if (words.length === 3 && words[1]?.toUpperCase() === 'AS') name = words[2];
    else if (words.length !== 1) throw new InputError(`${at}: FROM takes IMAGE [AS NAME]`);
    const platform = ins.flags.platform ? parsePlatformFlag(ins.flags.platform) : this.platform;
    const vars = new Map(this.globalArgs);
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
        vars,
      });
      return;
    }
    const stage = this.stages.find((s) => s.name === image);
    if (stage) {
      this.stages.push({ name, config: structuredClone(stage.config), layers: [...stage.layers], vars });
      return;
    }
    const base = await this.loadImage(image, platform, at);
    for (const e of base.config.config?.Env ?? []) {
      const [k, v] = splitEnv(e);
      vars.set(k, v);
    }
    const config = structuredClone(base.config);
    config.history ??= [];
    delete config.created;
    this.stages.push({ name, config, layers: [...base.manifest.layers], vars });
  }

  private async loadImage(ref: string, platform: Platform, at: string) {
    try {
      await this.store.resolve(ref);
    } catch (err) {
      if (err instanceof NotFoundError) {
        throw new NotFoundError(`${at}: image ${ref} is not in the local store; run berth pull ${ref} first`);
      }
      throw err;
    }
    try {
      return await this.store.image(ref, platform);
    } catch (err) {
      if (err instanceof BerthError) throw new NotFoundError(`${at}: ${err.message}`);
      throw err;
    }
  }

  private async copy(ins: Instruction, at: string, stage: Stage): Promise<void> {
    const args = ins.json ?? splitWords(substitute(ins.text, stage.vars));
    if (args.length < 2) throw new InputError(`${at}: ${ins.keyword} needs SOURCE... DEST`);
    const dest = args[args.length - 1] as string;
    const sources = args.slice(0, -1);
    const from = ins.flags.from;
    const root = from ? await this.fromRoot(from, at) : this.options.contextDir;
    const ignored = from ? () => false : await this.contextIgnore();
    let chmod: number | undefined;
    if (ins.flags.chmod !== undefined) {
      if (!/^[0-7]{3,4}$/.test(ins.flags.chmod))
        throw new InputError(`${at}: --chmod wants an octal mode like 755`);
      chmod = Number.parseInt(ins.flags.chmod, 8);
    }
    const matched: string[] = [];
    for (const src of sources) {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(src)) {
        throw new InputError(
          `${at}: ${ins.keyword} ${src}: berth builds offline; download it into the build context and COPY it`,
        );
      }
      const norm = normaliseSource(src);
      if (norm === undefined)
        throw new InputError(`${at}: ${ins.keyword} source ${src} is outside the build context`);
      const hits = await matchSources(root, norm, ignored);
      if (hits.length === 0) {
        throw new InputError(
          `${at}: ${ins.keyword} source ${src} matches no file in ${from ? `image ${from}` : 'the build context'} (check .dockerignore)`,
        );
      }
      matched.push(...hits);
    }
    const destPath = posix.normalize(`/${dest}`).slice(1).replace(/\/$/, '');
    let destIsDir = dest.endsWith('/') || matched.length > 1;
    for (const m of matched) if ((await lstat(join(root, m))).isDirectory()) destIsDir = true;
    const entries: LayerEntry[] = [];
    if (destIsDir && destPath) entries.push({ path: destPath, type: 'dir', mode: 0o755 });
    for (const m of matched) {
      const abs = join(root, m);
      const st = await lstat(abs);
      if (st.isDirectory()) {
        entries.push(...(await collectTree(abs, destPath, (rel) => !ignored(m ? `${m}/${rel}` : rel))));
        continue;
      }
      const target = destIsDir ? posix.join(destPath, posix.basename(m)) : destPath;
      if (ins.keyword === 'ADD' && st.isFile() && (await isArchive(abs))) {
        const dir = await this.scratch();
        await unpackLayer(await openTar(abs, `${at}: ${m}`), dir, `${this.file}:${ins.line} ${m}`);
        entries.push(...(await collectTree(dir, destIsDir ? destPath : target)));
        continue;
      }
      if (!target) throw new InputError(`${at}: ${ins.keyword} ${m} needs a destination path other than /`);
      entries.push(await pathEntry(abs, target));
    }
    if (chmod !== undefined) for (const e of entries) if (e.type !== 'symlink') e.mode = chmod;
    const layer = await writeLayer(this.store, withParents(entries), { level: this.options.level });
    log.debug(`${at}: layer ${layer.descriptor.digest} (${layer.tarSize} bytes uncompressed)`);
    stage.layers.push(layer.descriptor);
    stage.config.rootfs.diff_ids.push(layer.diffId);
    this.history(stage, `${ins.keyword} ${ins.text}`, false);
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

function splitEnv(e: string): [string, string] {
  const eq = e.indexOf('=');
  return eq < 0 ? [e, ''] : [e.slice(0, eq), e.slice(eq + 1)];
}

function parsePlatformFlag(text: string): Platform {
  const [os, architecture, variant] = text.split('/');
  if (!os || !architecture)
    throw new InputError(`--platform=${text}: want os/arch, e.g. ${formatPlatform(hostPlatform())}`);
  return variant ? { os, architecture, variant } : { os, architecture };
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
