import { UsageError } from '../util/errors.js';

// Command-line overrides of a loaded Clusterfile: `--set spec.ssh.passwd=...` replaces one field by its
// dotted path (list entries by `[index]`), `-e K=V` adds one entry to spec.env.

export interface SetOverride {
  path: Array<string | number>;
  value: string;
  /** As the user wrote the path, for messages. */
  text: string;
}

export function parseFieldPath(text: string): Array<string | number> {
  const bad = () => new UsageError(`--set ${text}: not a field path; write it like spec.hosts[0].ips[1]`);
  if (!/^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\])*$/.test(text)) throw bad();
  return [...text.matchAll(/([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]/g)].map((m) =>
    m[1] !== undefined ? m[1] : Number(m[2]),
  );
}

export function parseSetOverride(arg: string): SetOverride {
  const eq = arg.indexOf('=');
  if (eq <= 0)
    throw new UsageError(`--set "${arg.split('=')[0]}": expected FIELD=VALUE, e.g. spec.ssh.user=root`);
  const text = arg.slice(0, eq);
  return { path: parseFieldPath(text), value: arg.slice(eq + 1), text };
}

export function parseEnvArg(arg: string, flag = '-e'): string {
  if (!/^[^=\s]+=/.test(arg)) throw new UsageError(`${flag} "${arg.split('=')[0]}": expected KEY=VALUE`);
  return arg;
}
