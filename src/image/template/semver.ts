// semverCompare as sealos provides it to templates (Masterminds semver v3 constraints): a version that does
// not parse compares false, a constraint that does not parse is an error. Images use it to pick config
// formats by Kubernetes version, e.g. `semverCompare "^1.26.0" .SEALOS_SYS_KUBE_VERSION`.

import { FuncError } from './values.js';

interface Version {
  major: number;
  minor: number;
  patch: number;
  pre: string;
}

const versionPattern =
  /^v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

function parseVersion(text: string): Version | undefined {
  const m = versionPattern.exec(text.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2] ?? 0), patch: Number(m[3] ?? 0), pre: m[4] ?? '' };
}

function comparePre(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return 1;
  if (b === '') return -1;
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const nx = /^[0-9]+$/.test(x);
    const ny = /^[0-9]+$/.test(y);
    if (nx && ny) return Number(x) < Number(y) ? -1 : 1;
    if (nx !== ny) return nx ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

function compare(a: Version, b: Version): number {
  if (a.major !== b.major) return a.major < b.major ? -1 : 1;
  if (a.minor !== b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.patch !== b.patch) return a.patch < b.patch ? -1 : 1;
  return comparePre(a.pre, b.pre);
}

interface Term {
  op: string;
  con: Version;
  anyVersion: boolean;
  minorDirty: boolean;
  patchDirty: boolean;
}

const termPattern =
  /^(=|!=|>=|=>|<=|=<|>|<|~>|~|\^)?\s*v?(x|X|\*|[0-9]+)(?:\.(x|X|\*|[0-9]+))?(?:\.(x|X|\*|[0-9]+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-.]+)?$/;

const wild = (s: string | undefined): boolean => s === 'x' || s === 'X' || s === '*';

function parseTerm(text: string, constraint: string): Term {
  const m = termPattern.exec(text);
  if (!m) throw new FuncError(`improper constraint: ${constraint}`);
  const [, op = '', maj, min, pat, pre = ''] = m;
  const majorDirty = wild(maj);
  const minorDirty = majorDirty || min === undefined || wild(min);
  const patchDirty = minorDirty || pat === undefined || wild(pat);
  const num = (s: string | undefined): number => (s === undefined || wild(s) ? 0 : Number(s));
  return {
    op: op === '=>' ? '>=' : op === '=<' ? '<=' : op === '~>' ? '~' : op,
    con: { major: num(maj), minor: num(min), patch: num(pat), pre },
    anyVersion: majorDirty,
    minorDirty,
    patchDirty,
  };
}

function within(v: Version, t: Term): boolean {
  // Inside the wildcard range of a dirty version such as 1.2.x or 1.x.
  if (t.minorDirty) return v.major === t.con.major;
  if (t.patchDirty) return v.major === t.con.major && v.minor === t.con.minor;
  return compare(v, t.con) === 0;
}

function check(v: Version, t: Term): boolean {
  if (v.pre !== '' && t.con.pre === '' && t.op !== '!=') return false;
  if (t.anyVersion) return t.op !== '!=' && t.op !== '<' && t.op !== '>';
  const c = compare(v, t.con);
  switch (t.op) {
    case '':
    case '=':
      return t.patchDirty ? c >= 0 && within(v, t) : c === 0;
    case '!=':
      return t.patchDirty ? !within(v, t) : c !== 0;
    case '>':
      if (t.minorDirty) return v.major > t.con.major;
      if (t.patchDirty) return v.major > t.con.major || (v.major === t.con.major && v.minor > t.con.minor);
      return c > 0;
    case '<':
      return c < 0;
    case '>=':
      return c >= 0;
    case '<=':
      if (t.minorDirty) return v.major <= t.con.major;
      if (t.patchDirty) return v.major < t.con.major || (v.major === t.con.major && v.minor <= t.con.minor);
      return c <= 0;
    case '~':
      if (c < 0) return false;
      if (v.major !== t.con.major) return false;
      return t.minorDirty ? true : v.minor === t.con.minor;
    case '^':
      if (c < 0) return false;
      if (t.con.major > 0 || t.minorDirty) return v.major === t.con.major;
      if (v.major > 0) return false;
      if (t.con.minor > 0 || t.patchDirty) return v.minor === t.con.minor;
      if (v.minor > 0) return false;
      return v.patch === t.con.patch;
    default:
      return false;
  }
}

export function semverCompare(constraint: string, version: string): boolean {
  const groups = constraint.split('||').map((group) => {
    const g = group.trim().replace(/\s+-\s+/g, ' - ');
    const hyphen = /^(\S+) - (\S+)$/.exec(g);
    const parts = hyphen ? [`>=${hyphen[1]}`, `<=${hyphen[2]}`] : g.split(/\s*,\s*|\s+(?=[=!<>~^vxX*0-9])/);
    if (parts.length === 0 || parts.some((p) => p === ''))
      throw new FuncError(`improper constraint: ${constraint}`);
    return parts.map((p) => parseTerm(p, constraint));
  });
  const v = parseVersion(version);
  if (!v) return false;
  return groups.some((terms) => terms.every((t) => check(v, t)));
}
