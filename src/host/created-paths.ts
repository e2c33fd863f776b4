import { shellQuote } from '../util/shell.js';

// Paths a driver creates on a host that did not exist before berth ran (binaries in /usr/bin, CNI
// directories), one a line in a record file, so that a reset removes exactly those and leaves alone what
// was there before.

/** Adds `path` to `record` when it does not exist yet (and is not recorded already). */
export function rememberIfAbsent(record: string, path: string): string {
  const p = shellQuote(path);
  const r = shellQuote(record);
  const dir = shellQuote(record.slice(0, record.lastIndexOf('/')) || '/');
  return `if [ ! -e ${p} ] && [ ! -L ${p} ] && ! grep -qxF ${p} ${r} 2>/dev/null; then mkdir -p ${dir} && echo ${p} >> ${r}; fi`;
}

/** Removes every path in `record`, then the record. */
export function removeRemembered(record: string): string {
  const r = shellQuote(record);
  return `if [ -f ${r} ]; then while read -r p; do rm -rf "$p"; done < ${r}; rm -f ${r}; fi`;
}
