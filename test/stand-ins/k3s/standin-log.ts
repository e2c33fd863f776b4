// logrus-style lines on stderr, as k3s prints them: the short TTY form or the key=value form under systemd.
import { appendFileSync } from 'node:fs';

const startedAt = Date.now();
let debugOn = false;
const hidden = new Set<string>();

export function setStandinDebug(on: boolean): void {
  debugOn = on;
}

/** Tokens and keys are masked in every later log line, as a real server never prints them. */
export function hideInLogs(value: string | undefined): void {
  if (value && value.length >= 6) hidden.add(value);
}

function maskSecrets(text: string): string {
  let out = text;
  for (const s of hidden) out = out.split(s).join('********');
  return out;
}

type Level = 'debug' | 'info' | 'warning' | 'error' | 'fatal';

function emit(level: Level, msg: string): void {
  if (level === 'debug' && !debugOn) return;
  const text = maskSecrets(msg);
  if (process.stderr.isTTY) {
    const secs = String(Math.floor((Date.now() - startedAt) / 1000)).padStart(4, '0');
    process.stderr.write(`${level.slice(0, 4).toUpperCase()}[${secs}] ${text}\n`);
  } else {
    const time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    process.stderr.write(`time="${time}" level=${level} msg=${JSON.stringify(text)}\n`);
  }
}

export const klog = {
  debug: (msg: string) => emit('debug', msg),
  info: (msg: string) => emit('info', msg),
  warn: (msg: string) => emit('warning', msg),
  error: (msg: string) => emit('error', msg),
};

/** Logs at fatal level and ends the process with status 1, as logrus.Fatal does. */
export function fatal(msg: string): never {
  emit('fatal', msg);
  process.exit(1);
}

/** --log: k3s writes its log to the file instead of stderr, or to both with --alsologtostderr. */
export function setLogFile(path: string, alsoStderr: boolean): void {
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    appendFileSync(path, chunk);
    return alsoStderr ? original(chunk) : true;
  }) as typeof process.stderr.write;
}
