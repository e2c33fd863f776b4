// The functions cluster-image templates may call: Go's text/template builtins and the part of sprig (plus
// sealos' semverCompare) that real images use. Each is declared with its Go parameter types so that
// arguments are checked as Go checks them. sprig's env/expandenv are deliberately absent: a rendered file
// must depend only on the data it is given, never on the environment of the machine that renders it.

import { semverCompare } from './semver.js';
import {
  FuncError,
  formatV,
  GoFloat,
  GoMap,
  goQuote,
  goTypeName,
  isTrue,
  sprint,
  sprintf,
  type Value,
} from './values.js';

export type ParamType = 'string' | 'int' | 'bool' | 'any';

export interface GoFunc {
  params: ParamType[];
  /** Element type of a trailing variadic parameter. */
  variadic?: ParamType;
  call(args: Value[]): Value;
}

function str(args: Value[], i: number): string {
  return args[i] as string;
}

/** sprig's strval: fmt's %v of anything that is not already a string. */
function strval(v: Value): string {
  return typeof v === 'string' ? v : formatV(v);
}

const goSpace =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/** Go maps case rune by rune and keeps runes with no single-rune mapping (JS turns ß into SS). */
function mapRunes(s: string, f: (c: string) => string): string {
  let out = '';
  for (const c of s) {
    const m = f(c);
    out += [...m].length === 1 ? m : c;
  }
  return out;
}

function goSplit(s: string, sep: string): string[] {
  if (sep === '') return [...s];
  return s.split(sep);
}

function goReplaceAll(s: string, from: string, to: string): string {
  if (from === '') return s === '' ? to : to + [...s].join(to) + to;
  return s.split(from).join(to);
}

function goTrimCutset(s: string, cutset: string): string {
  const set = new Set(cutset);
  const chars = [...s];
  let a = 0;
  let b = chars.length;
  while (a < b && set.has(chars[a] as string)) a++;
  while (b > a && set.has(chars[b - 1] as string)) b--;
  return chars.slice(a, b).join('');
}

/** sprig's strslice: the strings of a list, skipping nil elements; anything else becomes a one-element list. */
function strslice(v: Value): string[] {
  if (Array.isArray(v)) return v.filter((e) => e !== undefined).map(strval);
  if (v === undefined) return [];
  return [strval(v)];
}

/** sprig's empty: true for nil and for the zero value of any type. */
function empty(v: Value): boolean {
  return !isTrue(v);
}

function base64Decode(s: string): string {
  const clean = s.replace(/[\r\n]/g, '');
  const bad = /[^A-Za-z0-9+/=]/.exec(clean);
  const padAt = clean.indexOf('=');
  if (bad) return `illegal base64 data at input byte ${bad.index}`;
  if (padAt >= 0 && (!/^={1,2}$/.test(clean.slice(padAt)) || clean.length % 4 !== 0)) {
    return `illegal base64 data at input byte ${padAt}`;
  }
  if (clean.length % 4 === 1 || (padAt < 0 && clean.length % 4 !== 0)) {
    return `illegal base64 data at input byte ${clean.length - (clean.length % 4)}`;
  }
  return Buffer.from(clean, 'base64').toString('utf8');
}

type Kind = 'bool' | 'int' | 'float' | 'string' | 'invalid';

function basicKind(v: Value): Kind {
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'int';
  if (v instanceof GoFloat) return 'float';
  if (typeof v === 'string') return 'string';
  return 'invalid';
}

function scalar(v: Value): string | number | boolean {
  return v instanceof GoFloat ? v.value : (v as string | number | boolean);
}

function eq(a: Value, others: Value[]): boolean {
  if (others.length === 0) throw new FuncError('missing argument for comparison');
  const k1 = basicKind(a);
  for (const b of others) {
    const k2 = basicKind(b);
    let truth: boolean;
    if (k1 !== k2) {
      if (a !== undefined && b !== undefined) throw new FuncError('incompatible types for comparison');
      truth = false;
    } else if (k1 !== 'invalid') {
      truth = scalar(a) === scalar(b);
    } else if (a === undefined || b === undefined) {
      truth = a === b;
    } else {
      throw new FuncError(
        `non-comparable types ${formatV(a)}: ${goTypeName(a)}, ${goTypeName(b)}: ${formatV(b)}`,
      );
    }
    if (truth) return true;
  }
  return false;
}

function lt(a: Value, b: Value): boolean {
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  if (k1 === 'invalid' || k2 === 'invalid') throw new FuncError('invalid type for comparison');
  if (k1 !== k2) throw new FuncError('incompatible types for comparison');
  if (k1 === 'bool') throw new FuncError('invalid type for comparison');
  if (k1 === 'string') return Buffer.compare(Buffer.from(a as string), Buffer.from(b as string)) < 0;
  return (scalar(a) as number) < (scalar(b) as number);
}

function length(v: Value): number {
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (v instanceof GoMap) return v.entries.size;
  if (v === undefined) throw new FuncError('len of nil pointer');
  throw new FuncError(`len of type ${goTypeName(v)}`);
}

function index(item: Value, indices: Value[]): Value {
  if (item === undefined) throw new FuncError('index of untyped nil');
  let v: Value = item;
  for (const i of indices) {
    if (typeof v === 'string' || Array.isArray(v)) {
      if (typeof i !== 'number') throw new FuncError(`cannot index slice/array with type ${goTypeName(i)}`);
      const len = typeof v === 'string' ? Buffer.byteLength(v) : v.length;
      if (i < 0 || i >= len) throw new FuncError(`index out of range: ${i}`);
      // Indexing a Go string yields a byte.
      v = typeof v === 'string' ? (Buffer.from(v)[i] as number) : v[i];
    } else if (v instanceof GoMap) {
      const key = i === undefined ? '' : i;
      if (typeof key !== 'string') throw new FuncError(`value has type ${goTypeName(key)}; should be string`);
      v = v.entries.has(key) ? v.entries.get(key) : v.elem === 'string' ? '' : undefined;
    } else if (v === undefined) {
      throw new FuncError('index of nil pointer');
    } else {
      throw new FuncError(`can't index item of type ${goTypeName(v)}`);
    }
  }
  return v;
}

function indent(spaces: number, s: string): string {
  const pad = ' '.repeat(Math.max(0, spaces));
  return pad + s.split('\n').join(`\n${pad}`);
}

const s1 = (f: (a: string) => Value): GoFunc => ({ params: ['string'], call: (a) => f(str(a, 0)) });
const s2 = (f: (a: string, b: string) => Value): GoFunc => ({
  params: ['string', 'string'],
  call: (a) => f(str(a, 0), str(a, 1)),
});

export const functions: ReadonlyMap<string, GoFunc> = new Map<string, GoFunc>([
  // Go builtins. and/or are evaluated lazily by the executor; their entries give the signature.
  ['and', { params: ['any'], variadic: 'any', call: (a) => a.find((v) => !isTrue(v)) ?? a[a.length - 1] }],
  ['or', { params: ['any'], variadic: 'any', call: (a) => a.find((v) => isTrue(v)) ?? a[a.length - 1] }],
  ['not', { params: ['any'], call: (a) => !isTrue(a[0]) }],
  ['len', { params: ['any'], call: (a) => length(a[0]) }],
  ['index', { params: ['any'], variadic: 'any', call: (a) => index(a[0], a.slice(1)) }],
  ['print', { params: [], variadic: 'any', call: (a) => sprint(a) }],
  ['println', { params: [], variadic: 'any', call: (a) => `${a.map(formatV).join(' ')}\n` }],
  ['printf', { params: ['string'], variadic: 'any', call: (a) => sprintf(str(a, 0), a.slice(1)) }],
  ['eq', { params: ['any'], variadic: 'any', call: (a) => eq(a[0], a.slice(1)) }],
  ['ne', { params: ['any', 'any'], call: (a) => !eq(a[0], [a[1]]) }],
  ['lt', { params: ['any', 'any'], call: (a) => lt(a[0], a[1]) }],
  ['le', { params: ['any', 'any'], call: (a) => lt(a[0], a[1]) || eq(a[0], [a[1]]) }],
  ['gt', { params: ['any', 'any'], call: (a) => !(lt(a[0], a[1]) || eq(a[0], [a[1]])) }],
  ['ge', { params: ['any', 'any'], call: (a) => !lt(a[0], a[1]) }],
  // sprig
  ['default', { params: ['any'], variadic: 'any', call: (a) => (a.length < 2 || empty(a[1]) ? a[0] : a[1]) }],
  ['empty', { params: ['any'], call: (a) => empty(a[0]) }],
  ['ternary', { params: ['any', 'any', 'bool'], call: (a) => (a[2] ? a[0] : a[1]) }],
  [
    'quote',
    {
      params: [],
      variadic: 'any',
      call: (a) =>
        a
          .filter((v) => v !== undefined)
          .map((v) => goQuote(strval(v)))
          .join(' '),
    },
  ],
  [
    'squote',
    {
      params: [],
      variadic: 'any',
      call: (a) =>
        a
          .filter((v) => v !== undefined)
          .map((v) => `'${formatV(v)}'`)
          .join(' '),
    },
  ],
  ['toString', { params: ['any'], call: (a) => strval(a[0]) }],
  ['upper', s1((s) => mapRunes(s, (c) => c.toUpperCase()))],
  ['lower', s1((s) => mapRunes(s, (c) => c.toLowerCase()))],
  ['trim', s1((s) => s.replace(goSpace, ''))],
  ['trimAll', s2((cut, s) => goTrimCutset(s, cut))],
  ['trimSuffix', s2((suffix, s) => (suffix !== '' && s.endsWith(suffix) ? s.slice(0, -suffix.length) : s))],
  ['trimPrefix', s2((prefix, s) => (s.startsWith(prefix) ? s.slice(prefix.length) : s))],
  [
    'replace',
    { params: ['string', 'string', 'string'], call: (a) => goReplaceAll(str(a, 2), str(a, 0), str(a, 1)) },
  ],
  ['contains', s2((sub, s) => s.includes(sub))],
  ['hasPrefix', s2((p, s) => s.startsWith(p))],
  ['hasSuffix', s2((p, s) => s.endsWith(p))],
  ['split', s2((sep, s) => new GoMap(new Map(goSplit(s, sep).map((part, i) => [`_${i}`, part])), 'string'))],
  ['splitList', s2((sep, s) => goSplit(s, sep))],
  ['join', { params: ['string', 'any'], call: (a) => strslice(a[1]).join(str(a, 0)) }],
  ['list', { params: [], variadic: 'any', call: (a) => a }],
  ['b64enc', s1((s) => Buffer.from(s, 'utf8').toString('base64'))],
  ['b64dec', s1(base64Decode)],
  ['indent', { params: ['int', 'string'], call: (a) => indent(a[0] as number, str(a, 1)) }],
  ['nindent', { params: ['int', 'string'], call: (a) => `\n${indent(a[0] as number, str(a, 1))}` }],
  // sealos
  ['semverCompare', s2((constraint, version) => semverCompare(constraint, version))],
]);
