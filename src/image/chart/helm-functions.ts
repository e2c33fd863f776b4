import { createHash } from 'node:crypto';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { functions as builtins, type GoFunc } from '../template/functions.js';
import { FuncError, formatV, GoFloat, GoMap, isTrue, sortedKeys, type Value } from '../template/values.js';

// The functions helm adds to Go templates (include, tpl, required, toYaml/fromYaml, ...) and the part of
// sprig that charts commonly call beyond what cluster-image templates already have, over the template
// engine's values. Nothing here reads the clock, the environment or randomness: the images a chart names
// must depend on the chart alone. A function not listed is an error naming it (see render.ts).

/** A JavaScript value from YAML or JSON as the template value helm would hold: numbers are float64. */
export function toValue(v: unknown): Value {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return new GoFloat(v);
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(toValue);
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object')
    return new GoMap(
      new Map(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, toValue(x)])),
      'interface {}',
    );
  return String(v);
}

export function toPlain(v: Value): unknown {
  if (v === undefined) return null;
  if (v instanceof GoFloat) return v.value;
  if (v instanceof GoMap) return Object.fromEntries(sortedKeys(v).map((k) => [k, toPlain(v.entries.get(k))]));
  if (Array.isArray(v)) return v.map(toPlain);
  return v;
}

export function deepCopy(v: Value): Value {
  if (v instanceof GoMap) return new GoMap(new Map([...v.entries].map(([k, x]) => [k, deepCopy(x)])), v.elem);
  if (Array.isArray(v)) return v.map(deepCopy);
  return v;
}

/** Deep merge into `dst`: keys `dst` lacks (or, with overwrite, every key) come from `src`; maps merge. */
export function mergeInto(dst: GoMap, src: GoMap, overwrite: boolean): GoMap {
  for (const [k, sv] of src.entries) {
    const dv = dst.entries.get(k);
    if (dv instanceof GoMap && sv instanceof GoMap) mergeInto(dv, sv, overwrite);
    else if (!dst.entries.has(k) || (overwrite && sv !== undefined) || dv === undefined)
      dst.entries.set(k, deepCopy(sv));
  }
  return dst;
}

function asMap(v: Value, fn: string): GoMap {
  if (v instanceof GoMap) return v;
  throw new FuncError(`${fn} wants a map, got ${formatV(v)}`);
}

function asList(v: Value): Value[] {
  if (Array.isArray(v)) return v;
  if (v === undefined) return [];
  throw new FuncError(`wants a list, got ${formatV(v)}`);
}

/** sprig's toInt64: numbers, numeric strings and bools. */
function toInt(v: Value): number {
  if (typeof v === 'number') return v;
  if (v instanceof GoFloat) return Math.trunc(v.value);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const n = Number(v);
    return Number.isFinite(n) ? Math.trunc(n) : 0;
  }
  return 0;
}

function toFloat(v: Value): number {
  if (v instanceof GoFloat) return v.value;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v) || 0;
  return v === true ? 1 : 0;
}

function kindOf(v: Value): string {
  if (v === undefined) return 'invalid';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'int';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof GoFloat) return 'float64';
  if (v instanceof GoMap) return 'map';
  return 'slice';
}

function toYaml(v: Value): string {
  if (v === undefined) return 'null';
  return stringifyYaml(toPlain(v), { lineWidth: 0, sortMapEntries: true }).replace(/\n$/, '');
}

function fromYaml(s: string): Value {
  try {
    const v = toValue(parseYaml(s));
    return v instanceof GoMap ? v : new GoMap(new Map(), 'interface {}');
  } catch (err) {
    return new GoMap(new Map([['Error', (err as Error).message]]), 'interface {}');
  }
}

function fn(params: GoFunc['params'], call: GoFunc['call'], variadic?: GoFunc['variadic']): GoFunc {
  return variadic ? { params, variadic, call } : { params, call };
}

const s = (a: Value[], i: number) => (typeof a[i] === 'string' ? (a[i] as string) : formatV(a[i]));

/** What a chart's templates can call besides the engine's built-ins; include and tpl are added by render.ts. */
export const helmFunctions: ReadonlyMap<string, GoFunc> = new Map<string, GoFunc>([
  [
    'required',
    fn(['string', 'any'], (a) => {
      if (a[1] === undefined || a[1] === '') throw new FuncError(s(a, 0));
      return a[1];
    }),
  ],
  [
    'fail',
    fn(['string'], (a) => {
      throw new FuncError(s(a, 0));
    }),
  ],
  ['toYaml', fn(['any'], (a) => toYaml(a[0]))],
  ['fromYaml', fn(['string'], (a) => fromYaml(s(a, 0)))],
  ['toJson', fn(['any'], (a) => JSON.stringify(toPlain(a[0])))],
  ['toPrettyJson', fn(['any'], (a) => JSON.stringify(toPlain(a[0]), null, 2))],
  [
    'fromJson',
    fn(['string'], (a) => {
      try {
        return toValue(JSON.parse(s(a, 0)));
      } catch {
        return new GoMap(new Map(), 'interface {}');
      }
    }),
  ],
  [
    'dict',
    fn(
      [],
      (a) => {
        const m = new GoMap(new Map(), 'interface {}');
        for (let i = 0; i < a.length; i += 2) m.entries.set(s(a, i), a[i + 1]);
        return m;
      },
      'any',
    ),
  ],
  [
    'set',
    fn(['any', 'string', 'any'], (a) => {
      asMap(a[0], 'set').entries.set(s(a, 1), a[2]);
      return a[0];
    }),
  ],
  [
    'unset',
    fn(['any', 'string'], (a) => {
      asMap(a[0], 'unset').entries.delete(s(a, 1));
      return a[0];
    }),
  ],
  ['hasKey', fn(['any', 'string'], (a) => asMap(a[0], 'hasKey').entries.has(s(a, 1)))],
  ['get', fn(['any', 'string'], (a) => asMap(a[0], 'get').entries.get(s(a, 1)) ?? '')],
  ['keys', fn([], (a) => a.flatMap((m) => sortedKeys(asMap(m, 'keys'))), 'any')],
  [
    'values',
    fn(['any'], (a) => sortedKeys(asMap(a[0], 'values')).map((k) => (a[0] as GoMap).entries.get(k))),
  ],
  [
    'pluck',
    fn(
      ['string'],
      (a) =>
        a
          .slice(1)
          .flatMap((m) => (m instanceof GoMap && m.entries.has(s(a, 0)) ? [m.entries.get(s(a, 0))] : [])),
      'any',
    ),
  ],
  [
    'merge',
    fn(
      ['any'],
      (a) => a.slice(1).reduce<GoMap>((d, x) => mergeInto(d, asMap(x, 'merge'), false), asMap(a[0], 'merge')),
      'any',
    ),
  ],
  [
    'mergeOverwrite',
    fn(
      ['any'],
      (a) =>
        a
          .slice(1)
          .reduce<GoMap>(
            (d, x) => mergeInto(d, asMap(x, 'mergeOverwrite'), true),
            asMap(a[0], 'mergeOverwrite'),
          ),
      'any',
    ),
  ],
  ['deepCopy', fn(['any'], (a) => deepCopy(a[0]))],
  ['coalesce', fn([], (a) => a.find((v) => isTrue(v)), 'any')],
  ['first', fn(['any'], (a) => asList(a[0])[0])],
  ['last', fn(['any'], (a) => asList(a[0]).at(-1))],
  ['rest', fn(['any'], (a) => asList(a[0]).slice(1))],
  ['initial', fn(['any'], (a) => asList(a[0]).slice(0, -1))],
  ['append', fn(['any', 'any'], (a) => [...asList(a[0]), a[1]])],
  ['prepend', fn(['any', 'any'], (a) => [a[1], ...asList(a[0])])],
  ['concat', fn([], (a) => a.flatMap(asList), 'any')],
  ['compact', fn(['any'], (a) => asList(a[0]).filter((v) => isTrue(v)))],
  [
    'uniq',
    fn(['any'], (a) =>
      asList(a[0]).filter((v, i, all) => all.findIndex((x) => formatV(x) === formatV(v)) === i),
    ),
  ],
  ['has', fn(['any', 'any'], (a) => asList(a[1]).some((v) => formatV(v) === formatV(a[0])))],
  [
    'without',
    fn(['any'], (a) => asList(a[0]).filter((v) => !a.slice(1).some((x) => formatV(x) === formatV(v))), 'any'),
  ],
  ['until', fn(['int'], (a) => Array.from({ length: Math.max(0, a[0] as number) }, (_, i) => i))],
  ['toStrings', fn(['any'], (a) => asList(a[0]).map((v) => (typeof v === 'string' ? v : formatV(v))))],
  ['int', fn(['any'], (a) => toInt(a[0]))],
  ['int64', fn(['any'], (a) => toInt(a[0]))],
  ['atoi', fn(['string'], (a) => toInt(a[0]))],
  ['float64', fn(['any'], (a) => new GoFloat(toFloat(a[0])))],
  ['add', fn([], (a) => a.reduce<number>((n, v) => n + toInt(v), 0), 'any')],
  ['add1', fn(['any'], (a) => toInt(a[0]) + 1)],
  ['sub', fn(['any', 'any'], (a) => toInt(a[0]) - toInt(a[1]))],
  ['mul', fn(['any'], (a) => a.reduce<number>((n, v) => n * toInt(v), 1), 'any')],
  [
    'div',
    fn(['any', 'any'], (a) => {
      if (toInt(a[1]) === 0) throw new FuncError('integer divide by zero');
      return Math.trunc(toInt(a[0]) / toInt(a[1]));
    }),
  ],
  [
    'mod',
    fn(['any', 'any'], (a) => {
      if (toInt(a[1]) === 0) throw new FuncError('integer divide by zero');
      return toInt(a[0]) % toInt(a[1]);
    }),
  ],
  ['max', fn(['any'], (a) => Math.max(...a.map(toInt)), 'any')],
  ['min', fn(['any'], (a) => Math.min(...a.map(toInt)), 'any')],
  [
    'trunc',
    fn(['int', 'string'], (a) => {
      const n = a[0] as number;
      const t = s(a, 1);
      return n >= 0 ? t.slice(0, n) : t.slice(Math.max(0, t.length + n));
    }),
  ],
  [
    'title',
    fn(['string'], (a) =>
      s(a, 0).replace(/(^|\s)(\p{L})/gu, (_, sp: string, c: string) => sp + c.toUpperCase()),
    ),
  ],
  ['nospace', fn(['string'], (a) => s(a, 0).replace(/\s/g, ''))],
  ['repeat', fn(['int', 'string'], (a) => s(a, 1).repeat(Math.max(0, a[0] as number)))],
  [
    'substr',
    fn(['int', 'int', 'string'], (a) =>
      s(a, 2).slice(a[0] as number, (a[1] as number) < 0 ? undefined : (a[1] as number)),
    ),
  ],
  [
    'cat',
    fn(
      [],
      (a) =>
        a
          .filter((v) => v !== undefined)
          .map((v) => (typeof v === 'string' ? v : formatV(v)))
          .join(' '),
      'any',
    ),
  ],
  ['regexMatch', fn(['string', 'string'], (a) => new RegExp(s(a, 0)).test(s(a, 1)))],
  ['regexFind', fn(['string', 'string'], (a) => new RegExp(s(a, 0)).exec(s(a, 1))?.[0] ?? '')],
  [
    'regexReplaceAll',
    fn(['string', 'string', 'string'], (a) =>
      s(a, 1).replace(new RegExp(s(a, 0), 'g'), s(a, 2).replace(/\$\{?(\d+)\}?/g, '$$$1')),
    ),
  ],
  ['sha256sum', fn(['string'], (a) => createHash('sha256').update(s(a, 0)).digest('hex'))],
  ['kindOf', fn(['any'], (a) => kindOf(a[0]))],
  ['kindIs', fn(['string', 'any'], (a) => kindOf(a[1]) === s(a, 0))],
  [
    'typeOf',
    fn(['any'], (a) =>
      a[0] instanceof GoMap
        ? 'map[string]interface {}'
        : Array.isArray(a[0])
          ? '[]interface {}'
          : kindOf(a[0]) === 'invalid'
            ? '<nil>'
            : kindOf(a[0]),
    ),
  ],
  ['typeIs', fn(['string', 'any'], (a) => kindOf(a[1]) === s(a, 0))],
  // helm template talks to no cluster: lookup finds nothing, as it does there.
  ['lookup', fn(['string', 'string', 'string', 'string'], () => new GoMap(new Map(), 'interface {}'))],
]);

/** Every name a chart template may call: the engine's built-ins, helm's, and include/tpl. */
export function chartFunctionNames(): string[] {
  return [...new Set([...builtins.keys(), ...helmFunctions.keys(), 'include', 'tpl'])].sort();
}
