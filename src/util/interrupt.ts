import { setMaxListeners } from 'node:events';
import { rmSync } from 'node:fs';
import { ExitCode, InterruptedError } from './errors.js';

// Ctrl-C stops a command cleanly. The CLI turns the first SIGINT into the abort of one process-wide
// signal that long work listens on (blob writes, registry requests, archive streams, remote commands), so
// the work unwinds through its own clean-up and the CLI prints `interrupted` and exits 130. A second
// SIGINT exits at once; the temp paths registered with removeOnExit are removed on the way out even then.
// Library callers that never call listenForInterrupt get a signal that never fires.

const controller = new AbortController();
// Every blob write, request and remote command of a run listens on it, many at once.
setMaxListeners(0, controller.signal);

/** Aborted (with an InterruptedError as reason) by the first Ctrl-C once the CLI listens for it. */
export function interruptSignal(): AbortSignal {
  return controller.signal;
}

/** Makes SIGINT abort interruptSignal(); a second SIGINT exits 130 at once. Returns the function that stops listening. */
export function listenForInterrupt(): () => void {
  const second = () => {
    process.stderr.write('berth: interrupted\n');
    process.exit(ExitCode.interrupted);
  };
  const first = () => {
    process.once('SIGINT', second);
    controller.abort(new InterruptedError());
  };
  process.once('SIGINT', first);
  return () => {
    process.removeListener('SIGINT', first);
    process.removeListener('SIGINT', second);
  };
}

const doomed = new Map<string, boolean>();
let exitHook = false;

/**
 * Removes `path` (a temp file, or with `recursive` a temp directory, this process made) if the process
 * exits while it is registered; the returned function unregisters it once it is renamed or removed.
 */
export function removeOnExit(path: string, recursive = false): () => void {
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const [p, r] of doomed) {
        try {
          rmSync(p, { force: true, recursive: r });
        } catch {
          // exiting anyway; a stale temp file of a dead process is swept by the next gc
        }
      }
    });
  }
  doomed.set(path, recursive);
  return () => {
    doomed.delete(path);
  };
}
