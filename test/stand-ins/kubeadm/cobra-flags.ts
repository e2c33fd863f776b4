// kubeadm's command line is cobra on pflag: `--name=value` or `--name value`, bool flags that take no value
// unless given `=`, single-dash shorthands, and pflag's exact wording for what it refuses.

export type FlagKind = 'bool' | 'string' | 'slice' | 'duration' | 'int';

export interface FlagSpec {
  name: string;
  kind: FlagKind;
  short?: string;
}

export class FlagError extends Error {}

export type FlagValues = Map<string, string | string[] | boolean>;

export interface ParsedArgs {
  values: FlagValues;
  positional: string[];
}

/** Go's time.ParseDuration for the units kubeadm's users write; milliseconds out, or undefined. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 36e5 };
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    if (m.index !== consumed) return undefined;
    total += Number(m[1]) * unit[m[2]];
    consumed += m[0].length;
  }
  return consumed === text.length && consumed > 0 ? total : undefined;
}

function setValue(values: FlagValues, spec: FlagSpec, raw: string, shown: string): void {
  if (spec.kind === 'bool') {
    if (!/^(1|0|t|f|T|F|true|false|TRUE|FALSE|True|False)$/.test(raw))
      throw new FlagError(
        `invalid argument "${raw}" for "${shown}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`,
      );
    values.set(spec.name, /^(1|t|T|true|TRUE|True)$/.test(raw));
    return;
  }
  if (spec.kind === 'duration' && parseDuration(raw) === undefined)
    throw new FlagError(`invalid argument "${raw}" for "${shown}" flag: time: invalid duration "${raw}"`);
  if (spec.kind === 'int' && !/^-?\d+$/.test(raw))
    throw new FlagError(
      `invalid argument "${raw}" for "${shown}" flag: strconv.ParseInt: parsing "${raw}": invalid syntax`,
    );
  if (spec.kind === 'slice') {
    const prev = values.get(spec.name);
    const list = Array.isArray(prev) ? prev : [];
    values.set(spec.name, [...list, ...raw.split(',').filter(Boolean)]);
    return;
  }
  values.set(spec.name, raw);
}

/** Parses as pflag does with interspersed arguments; `--` ends the flags. */
export function parseFlags(args: string[], specs: FlagSpec[]): ParsedArgs {
  const values: FlagValues = new Map();
  const positional: string[] = [];
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const spec = byName.get(name);
      if (!spec) throw new FlagError(`unknown flag: --${name}`);
      if (eq >= 0) setValue(values, spec, a.slice(eq + 1), `--${name}`);
      else if (spec.kind === 'bool') values.set(spec.name, true);
      else if (i + 1 < args.length) setValue(values, spec, args[++i], `--${name}`);
      else throw new FlagError(`flag needs an argument: --${name}`);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      const c = a[1];
      const spec = byShort.get(c);
      if (!spec) throw new FlagError(`unknown shorthand flag: '${c}' in ${a}`);
      const shown = `-${c}, --${spec.name}`;
      const rest = a.slice(2);
      if (spec.kind === 'bool') {
        if (rest.startsWith('=')) setValue(values, spec, rest.slice(1), shown);
        else if (rest) throw new FlagError(`unknown shorthand flag: '${rest[0]}' in ${a}`);
        else values.set(spec.name, true);
      } else if (rest) setValue(values, spec, rest.startsWith('=') ? rest.slice(1) : rest, shown);
      else if (i + 1 < args.length) setValue(values, spec, args[++i], shown);
      else throw new FlagError(`flag needs an argument: '${c}' in -${c}`);
      continue;
    }
    positional.push(a);
  }
  return { values, positional };
}

export const str = (v: FlagValues, name: string): string | undefined => {
  const x = v.get(name);
  return typeof x === 'string' ? x : undefined;
};
export const bool = (v: FlagValues, name: string): boolean => v.get(name) === true;
export const list = (v: FlagValues, name: string): string[] => {
  const x = v.get(name);
  return Array.isArray(x) ? x : [];
};
