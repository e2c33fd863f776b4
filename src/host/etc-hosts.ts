// /etc/hosts lines owned by berth end with "# berth"; these commands add, replace and remove only those.
// The file is rewritten in place (not renamed over) because in containers /etc/hosts is a bind mount.

import { shellQuote } from '../util/shell.js';

// exactly "<ip> <name> # berth"; a comment that happens to end in "# berth" is not ours
const berthLine = 'NF == 4 && $3 == "#" && $4 == "berth" && $1 !~ /^#/';

function rewrite(file: string, awkProgram: string, append: string): string {
  const f = shellQuote(file);
  return `tmp=$(mktemp) && awk ${awkProgram} ${f} > "$tmp" && ${append}if ! cmp -s "$tmp" ${f}; then cat "$tmp" > ${f}; fi; rm -f "$tmp"`;
}

function checkName(name: string): void {
  if (!/^[A-Za-z0-9.-]+$/.test(name))
    throw new Error(`host name ${JSON.stringify(name)} is not a valid DNS name`);
}

/** Makes `name` resolve to `ip` through a berth line, replacing any earlier berth line for `name`. */
export function setHostsEntry(ip: string, name: string, file = '/etc/hosts'): string {
  checkName(name);
  if (!/^[0-9A-Fa-f.:]+$/.test(ip)) throw new Error(`${JSON.stringify(ip)} is not an IP address`);
  return rewrite(
    file,
    `-v n=${shellQuote(name)} ${shellQuote(`!(${berthLine} && $2 == n)`)}`,
    `printf '%s %s # berth\\n' ${shellQuote(ip)} ${shellQuote(name)} >> "$tmp" && `,
  );
}

/** Removes berth's line for `name`, or every berth line when no name is given. */
export function removeHostsEntries(name?: string, file = '/etc/hosts'): string {
  if (name === undefined) return rewrite(file, shellQuote(`!(${berthLine})`), '');
  checkName(name);
  return rewrite(file, `-v n=${shellQuote(name)} ${shellQuote(`!(${berthLine} && $2 == n)`)}`, '');
}
