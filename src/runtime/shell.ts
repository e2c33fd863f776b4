// Helpers for building POSIX sh text. Every value that reaches generated shell goes through shq.
import { shellQuote as shq } from '../util/shell.js';

export { shellQuote as shq } from '../util/shell.js';

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
