// Label and field selectors as list and watch requests give them (`a=b,c!=d,e in (f,g),!h`).
import { type KubeObject, valueAt } from './kube-object.js';

export function selectorMatches(expr: string | null | undefined, fields: Record<string, string>): boolean {
  if (!expr) return true;
  const terms = expr.match(/([^,(]+(\([^)]*\))?)/g) ?? [];
  return terms.every((raw) => {
    const t = raw.trim();
    if (!t) return true;
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(t);
    if (m) {
      const set = m[3]!.split(',').map((s) => s.trim());
      const has = m[1]! in fields && set.includes(fields[m[1]!]!);
      return m[2] === 'in' ? has : !has;
    }
    m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(t);
    if (m) return m[2] === '!=' ? fields[m[1]!] !== m[3] : fields[m[1]!] === m[3];
    if (t.startsWith('!')) return !(t.slice(1) in fields);
    return t in fields;
  });
}

/** The field values a field selector may name: any scalar at the dotted path it gives. */
function fieldsOf(obj: KubeObject, expr: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of expr.matchAll(/([\w.]+)\s*(?:==|!=|=)/g)) {
    const v = valueAt(obj, m[1]!);
    if (v === undefined && m[1] === 'spec.unschedulable') out[m[1]] = 'false';
    else if (v !== undefined && (typeof v !== 'object' || v === null)) out[m[1]!] = String(v ?? '');
    else out[m[1]!] = '';
  }
  return out;
}

export function objectMatches(obj: KubeObject, labelSelector?: string | null, fieldSelector?: string | null) {
  return (
    selectorMatches(labelSelector, obj.metadata?.labels ?? {}) &&
    (!fieldSelector || selectorMatches(fieldSelector, fieldsOf(obj, fieldSelector)))
  );
}

/** A workload's spec.selector (matchLabels and matchExpressions) against a label set. */
export function labelSelectorMatches(
  selector: KubeObject | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries<string>(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of (selector.matchExpressions ?? []) as KubeObject[]) {
    const has = e.key in labels;
    const values: string[] = e.values ?? [];
    if (e.operator === 'In' && !(has && values.includes(labels[e.key]!))) return false;
    if (e.operator === 'NotIn' && has && values.includes(labels[e.key]!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}
