import { posix } from 'node:path';
import { InputError } from '../../util/errors.js';
import type { ImageConfig, Platform } from '../types.js';
import type { Instruction } from './parse.js';
import {
  type Lookup,
  nameValuePairs,
  processWord,
  processWords,
  rawWords,
  WordError,
} from './shell-words.js';

// The Kubefile instructions that only change an image's config, applied as buildah applies them: ENV and
// LABEL expand every key and value with the variables as they were before the instruction; ENV wins over
// ARG of the same name; a global ARG (before the first FROM) is seen inside a stage only when the stage
// declares it again; CMD and ENTRYPOINT take no variables.

/**
 * The kernel's limit for one environment string (MAX_ARG_STRLEN): an ENV longer than this could never
 * reach a hook script, and huge values only cost memory.
 */
export const maxValueBytes = 128 << 10;

export interface StageState {
  config: ImageConfig;
  /** ARG values declared in this stage (or globally, before the first FROM). */
  args: Map<string, string>;
  /** True once this stage set CMD: a later ENTRYPOINT then keeps it. */
  cmdSet: boolean;
}

export function envMap(config: ImageConfig): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of config.config?.Env ?? []) {
    const eq = e.indexOf('=');
    out.set(eq < 0 ? e : e.slice(0, eq), eq < 0 ? '' : e.slice(eq + 1));
  }
  return out;
}

export function stageLookup(stage: StageState): Lookup {
  const env = envMap(stage.config);
  return (name) => env.get(name) ?? stage.args.get(name);
}

/** Runs `fn`, turning a word-rule failure into one line naming file and line. */
export function atLine<T>(at: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof WordError) throw new InputError(`${at}: ${err.message}`);
    throw err;
  }
}

function checkSize(at: string, what: string, value: string): void {
  const n = Buffer.byteLength(value);
  if (n > maxValueBytes)
    throw new InputError(
      `${at}: ${what} is ${n} bytes; at most ${maxValueBytes} (the limit of one environment string); put large data in a file and COPY it`,
    );
}

/** The values a declared ARG takes when neither --build-arg nor a default gives one. */
export function platformArgs(target: Platform, build: Platform): Map<string, string> {
  const fmt = (p: Platform) => [p.os, p.architecture, p.variant].filter(Boolean).join('/');
  return new Map([
    ['TARGETPLATFORM', fmt(target)],
    ['TARGETOS', target.os],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
    ['BUILDPLATFORM', fmt(build)],
    ['BUILDOS', build.os],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
  ]);
}

/**
 * ARG NAME[=default]...: --build-arg wins, then the default (expanded), then for a name declared without
 * one the global ARG's value or the platform value; an ARG with no value at all stays unset.
 */
export function declareArgs(
  ins: Instruction,
  at: string,
  lookup: Lookup,
  into: Map<string, string>,
  fallback: (name: string) => string | undefined,
  given: Readonly<Record<string, string>>,
): void {
  for (const word of atLine(at, () => rawWords(ins.text))) {
    const eq = word.indexOf('=');
    const name = atLine(at, () => processWord(eq < 0 ? word : word.slice(0, eq), lookup));
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new InputError(`${at}: ARG name ${JSON.stringify(name.slice(0, 40))} is not valid`);
    const fromDefault = eq < 0 ? undefined : atLine(at, () => processWord(word.slice(eq + 1), lookup));
    const value = given[name] ?? fromDefault ?? fallback(name);
    if (value === undefined) continue;
    checkSize(at, `ARG ${name}`, value);
    into.set(name, value);
  }
}

/** Applies one metadata instruction to the stage's config; false when the keyword is not one of them. */
export function applyConfigStep(stage: StageState, ins: Instruction, at: string): boolean {
  stage.config.config ??= {};
  const cfg = stage.config.config;
  const lookup = stageLookup(stage);
  const word = (text: string) => atLine(at, () => processWord(text, lookup));
  const words = (): string[] =>
    ins.json ? ins.json.map((w) => word(w)) : atLine(at, () => processWords(ins.text, lookup));
  switch (ins.keyword) {
    case 'ENV': {
      const env = envMap(stage.config);
      for (const [k, v] of atLine(at, () => nameValuePairs(ins.text, 'ENV'))) {
        const key = word(k);
        const value = word(v);
        if (key === '') throw new InputError(`${at}: ENV needs a variable name before =`);
        checkSize(at, `ENV ${key.slice(0, 40)}`, value);
        env.set(key, value);
      }
      cfg.Env = [...env].map(([k, v]) => `${k}=${v}`);
      return true;
    }
    case 'LABEL': {
      const labels = { ...cfg.Labels };
      for (const [k, v] of atLine(at, () => nameValuePairs(ins.text, 'LABEL'))) {
        const key = word(k);
        if (key === '') throw new InputError(`${at}: LABEL needs a key before =`);
        labels[key] = word(v);
      }
      cfg.Labels = labels;
      return true;
    }
    case 'CMD':
    case 'ENTRYPOINT': {
      // The shell form is kept as one string, not wrapped in /bin/sh -c: cluster images run it through a
      // shell on the host (see docs/kubefile.md).
      const value = ins.json ?? (ins.text ? [ins.text] : []);
      if (ins.keyword === 'CMD') {
        cfg.Cmd = value;
        stage.cmdSet = true;
      } else {
        cfg.Entrypoint = value;
        if (!stage.cmdSet) delete cfg.Cmd;
      }
      return true;
    }
    case 'WORKDIR': {
      const dir = word(ins.text);
      cfg.WorkingDir = dir.startsWith('/') ? dir : posix.join('/', cfg.WorkingDir ?? '/', dir);
      return true;
    }
    case 'USER':
      cfg.User = word(ins.text);
      return true;
    case 'EXPOSE': {
      const ports = { ...cfg.ExposedPorts };
      for (const p of words()) {
        const [port, proto = 'tcp'] = p.split('/');
        if (!/^\d+(-\d+)?$/.test(port ?? '') || !/^(tcp|udp|sctp)$/i.test(proto))
          throw new InputError(`${at}: EXPOSE ${p}: want PORT[-PORT][/tcp|udp|sctp]`);
        ports[`${port}/${proto.toLowerCase()}`] = {};
      }
      cfg.ExposedPorts = ports;
      return true;
    }
    case 'VOLUME': {
      const volumes = { ...cfg.Volumes };
      for (const v of words()) {
        if (v.trim() === '') throw new InputError(`${at}: VOLUME needs a path`);
        volumes[v] = {};
      }
      cfg.Volumes = volumes;
      return true;
    }
    case 'STOPSIGNAL':
      cfg.StopSignal = word(ins.text);
      return true;
    case 'MAINTAINER':
      stage.config.author = ins.text;
      return true;
    default:
      return false;
  }
}
