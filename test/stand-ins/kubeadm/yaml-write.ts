// kubeadm writes its manifests, kubeconfigs and kubelet config as block YAML. The stand-ins run on Node
// built-ins only, so this emits block maps and lists, quoting any string a YAML reader would take for
// something else; the output reads back with k3s/yaml-subset.ts and with real YAML parsers.

const PLAIN = /^[A-Za-z0-9_./@%^][A-Za-z0-9_./:@%^=,+~-]*$/;
const AMBIGUOUS = /^(true|false|yes|no|on|off|null|~|[-+]?\d[\d._]*(e[-+]?\d+)?|0x[0-9a-f]+)$/i;

function scalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  const s = String(v);
  return PLAIN.test(s) && !AMBIGUOUS.test(s) ? s : JSON.stringify(s);
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function lines(v: unknown, indent: string): string[] {
  if (isMap(v)) {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (!entries.length) return [`${indent}{}`];
    return entries.flatMap(([k, x]) => {
      const key = `${indent}${scalar(k)}:`;
      if (isMap(x) && Object.keys(x).length) return [key, ...lines(x, `${indent}  `)];
      if (Array.isArray(x) && x.length) return [key, ...lines(x, indent)];
      return [`${key} ${inline(x)}`];
    });
  }
  if (Array.isArray(v)) {
    if (!v.length) return [`${indent}[]`];
    return v.flatMap((item) => {
      if ((isMap(item) && Object.keys(item).length) || (Array.isArray(item) && item.length)) {
        const inner = lines(item, `${indent}  `);
        return [`${indent}- ${inner[0].trimStart()}`, ...inner.slice(1)];
      }
      return [`${indent}- ${inline(item)}`];
    });
  }
  return [`${indent}${scalar(v)}`];
}

function inline(v: unknown): string {
  if (isMap(v)) return '{}';
  if (Array.isArray(v)) return '[]';
  return scalar(v);
}

export function toYaml(v: unknown): string {
  return `${lines(v, '').join('\n')}\n`;
}
