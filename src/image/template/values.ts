// The values a template computes with, modelled on the Go values they stand for, and Go's fmt printing of
// them. undefined is Go's "no value" (a missing map key, a nil interface): it prints as <no value> when an
// action prints it and as <nil> inside fmt. Integers are JS numbers (Go int); floats are wrapped in GoFloat
// because Go prints and compares the two kinds differently.

/** What a Go function returns as its error result; execution stops with "error calling NAME: ...". */
export class FuncError extends Error {}

export class GoFloat {
  constructor(readonly value: number) {}
}

/** A Go map; `elem` is the Go element type, whose zero value `index` returns for a missing key. */
export class GoMap {
  constructor(
    readonly entries: Map<string, Value>,
    readonly elem: 'string' | 'interface {}',
  ) {}
}

export type Value = undefined | string | number | boolean | GoFloat | GoMap | Value[];

export function goTypeName(v: Value): string {
  if (v === undefined) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'int';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof GoFloat) return 'float64';
  if (v instanceof GoMap) return `map[string]${v.elem}`;
  return '[]interface {}';
}

/** Go's truth for if/with/and/or/not: the zero value of any type is false. */
export function isTrue(v: Value): boolean {
  if (v === undefined) return false;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'boolean') return v;
  if (v instanceof GoFloat) return v.value !== 0;
  if (v instanceof GoMap) return v.entries.size > 0;
  return v.length > 0;
}

/** Map keys in the order Go's fmt and range visit them: by bytes. */
export function sortedKeys(m: GoMap): string[] {
  return [...m.entries.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** strconv.FormatFloat(f, 'g', -1, 64), which is what %v prints for a float64: shortest digits, exponent form
 * when the decimal exponent is below -4 or at least 6. */
export function formatFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const [mantissa, expText] = f.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 6)
    return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(f);
}

/** fmt's %v of a value that sits inside a slice or map or is an operand of fmt.Sprint. */
export function formatV(v: Value): string {
  if (v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof GoFloat) return formatFloat(v.value);
  if (v instanceof GoMap)
    return `map[${sortedKeys(v)
      .map((k) => `${k}:${formatV(v.entries.get(k))}`)
      .join(' ')}]`;
  return `[${v.map(formatV).join(' ')}]`;
}

/** How an action prints its pipeline's value. */
export function printAction(v: Value): string {
  return v === undefined ? '<no value>' : formatV(v);
}

const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** strconv.Quote (quote '"') or strconv.QuoteRune (quote "'"). */
export function goQuote(s: string, quote: '"' | "'" = '"'): string {
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (printable.test(ch)) out += ch;
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\v') out += '\\v';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp >= 0xd800 && cp < 0xe000) out += '\\ufffd';
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return out + quote;
}

/** fmt.Sprint: operands are separated by a space when neither side is a string. */
export function sprint(args: Value[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatV(a);
  });
  return out;
}

function badVerb(verb: string, v: Value): string {
  return v === undefined ? `%!${verb}(<nil>)` : `%!${verb}(${goTypeName(v)}=${formatV(v)})`;
}

interface Spec {
  minus: boolean;
  plus: boolean;
  zero: boolean;
  width?: number;
  precision?: number;
}

function pad(s: string, spec: Spec, numeric: boolean): string {
  if (spec.width === undefined || [...s].length >= spec.width) return s;
  const fill = spec.width - [...s].length;
  if (spec.minus) return s + ' '.repeat(fill);
  if (spec.zero && numeric) {
    const sign = /^[+-]/.test(s) ? (s[0] as string) : '';
    return sign + '0'.repeat(fill) + s.slice(sign.length);
  }
  return ' '.repeat(fill) + s;
}

function formatOne(verb: string, v: Value, spec: Spec): string {
  if (Array.isArray(v) && verb !== 'v')
    return `[${v.map((e) => formatOne(verb, e, { ...spec, width: undefined })).join(' ')}]`;
  switch (verb) {
    case 'v':
      if (typeof v === 'number' && spec.plus && v >= 0) return pad(`+${v}`, spec, true);
      return pad(formatV(v), spec, typeof v === 'number');
    case 's':
      if (typeof v !== 'string') return badVerb(verb, v);
      return pad(spec.precision === undefined ? v : [...v].slice(0, spec.precision).join(''), spec, false);
    case 'd':
      if (typeof v !== 'number') return badVerb(verb, v);
      return pad(spec.plus && v >= 0 ? `+${v}` : String(v), spec, true);
    case 'q':
      if (typeof v === 'string') return pad(goQuote(v), spec, false);
      if (typeof v === 'number') return pad(goQuote(String.fromCodePoint(v), "'"), spec, false);
      return badVerb(verb, v);
    case 't':
      if (typeof v !== 'boolean') return badVerb(verb, v);
      return pad(String(v), spec, false);
    default:
      return badVerb(verb, v);
  }
}

/** fmt.Sprintf for the verbs cluster templates use (%v %s %d %q %t %%, flags - + 0, width, precision). */
export function sprintf(format: string, args: Value[]): string {
  let out = '';
  let argi = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format[i] as string;
    if (c !== '%') {
      out += c;
      continue;
    }
    const spec: Spec = { minus: false, plus: false, zero: false };
    let j = i + 1;
    for (; j < format.length; j++) {
      const f = format[j];
      if (f === '-') spec.minus = true;
      else if (f === '+') spec.plus = true;
      else if (f === '0') spec.zero = !spec.minus;
      else if (f === ' ' || f === '#') continue;
      else break;
    }
    const width = /^[0-9]+/.exec(format.slice(j));
    if (width) {
      spec.width = Number(width[0]);
      j += width[0].length;
    }
    if (format[j] === '.') {
      const prec = /^[0-9]*/.exec(format.slice(j + 1)) as RegExpExecArray;
      spec.precision = Number(prec[0] || '0');
      j += 1 + prec[0].length;
    }
    const verb = format[j];
    i = j;
    if (verb === undefined) {
      out += '%!(NOVERB)';
      break;
    }
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatOne(verb, args[argi++], spec);
  }
  if (argi < args.length) {
    const extra = args.slice(argi).map((a) => (a === undefined ? '<nil>' : `${goTypeName(a)}=${formatV(a)}`));
    out += `%!(EXTRA ${extra.join(', ')})`;
  }
  return out;
}
