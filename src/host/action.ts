import { posix } from 'node:path';
import { shellQuote } from '../util/shell.js';

// What berth does on a host, as data: files to write and shell to run as root. Drivers and the registry
// build these; the apply engine sends each as one script (actionScript) over one SSH channel; a dry run
// prints them; unit tests inspect them or run the same script under a temp root.

/** A file written on a host (atomically, creating parent directories), before the commands run. */
export interface FileSpec {
  path: string;
  content: string;
  /** Octal permission bits, e.g. 0o600; 0o644 when absent. */
  mode?: number;
}

/**
 * Work for one host: write `files`, then run each of `commands` in order as root, stopping at the first
 * non-zero exit.
 */
export interface HostAction {
  files?: FileSpec[];
  commands?: string[];
  description: string;
  /** Values inside files/commands that must be masked in every log line (register them before running). */
  secrets?: string[];
}

/**
 * The shell line that runs an action script arriving on its stdin: the whole script is read first, so
 * that its commands cannot read the rest of it as their own input.
 */
export const actionShell = `sh -c 'script=$(cat) && eval "$script" </dev/null'`;

/**
 * One sh script doing a whole HostAction: each file written atomically (temp file beside it, mode set,
 * renamed over), then each command in its own subshell so that one command's `cd` or variables cannot
 * leak into the next, stopping at the first failure. Sent on the stdin of one remote shell, it costs one
 * SSH channel however many files and commands the action has; file contents travel base64-encoded, so any
 * bytes survive and nothing in them is ever interpreted by the shell.
 */
export function actionScript(action: HostAction): string {
  const lines = ['set -e'];
  for (const f of action.files ?? []) {
    const dest = shellQuote(f.path);
    const mode = (f.mode ?? 0o644).toString(8);
    lines.push(
      `mkdir -p ${shellQuote(posix.dirname(f.path))}`,
      `t=$(mktemp ${shellQuote(`${posix.dirname(f.path)}/.${posix.basename(f.path)}.berth.XXXXXX`)})`,
      `base64 -d > "$t" <<'BERTH_FILE_EOF'`,
      ...(Buffer.from(f.content)
        .toString('base64')
        .match(/.{1,76}/g) ?? []),
      'BERTH_FILE_EOF',
      `chmod ${mode} "$t"`,
      `mv -f "$t" ${dest}`,
    );
  }
  for (const command of action.commands ?? []) lines.push(`(\n${command}\n)`);
  return `${lines.join('\n')}\n`;
}
