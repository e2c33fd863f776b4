// Helpers for building POSIX sh text. Every value that reaches generated shell goes through shq.

/** Quotes a value as one sh word. */
export function shq(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

/** A here-document that writes `content` to `path` without expanding anything inside it. */
export function writeFileCommand(path: string, content: string, mode?: number): string {
  let tag = 'BERTH_EOF';
  while (content.includes(tag)) tag += '_';
  const body = content.endsWith('\n') ? content : `${content}\n`;
  const chmod = mode === undefined ? '' : ` && chmod ${mode.toString(8)} ${shq(path)}`;
  return `mkdir -p ${shq(dirOf(path))} && cat > ${shq(path)} <<'${tag}'${chmod}\n${body}${tag}`;
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}
