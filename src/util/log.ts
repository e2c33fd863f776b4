// Logging goes to stderr so that stdout carries only a command's data (tables, JSON).
// Secrets registered here are masked in every line berth prints, whatever code path produced it.

const secrets = new Set<string>();
let debugEnabled = process.env.BERTH_DEBUG === '1';
let quiet = false;

export function setDebug(on: boolean): void {
  debugEnabled = on;
}

export function isDebug(): boolean {
  return debugEnabled;
}

export function setQuiet(on: boolean): void {
  quiet = on;
}

/** Masks `value` in all later output. Short values are skipped: masking "a" would mangle every line. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 3) secrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('***');
  return out;
}

function write(line: string): void {
  if (process.stderr.writable) process.stderr.write(`${redact(line)}\n`);
}

export const log = {
  info(message: string): void {
    if (!quiet) write(message);
  },
  warn(message: string): void {
    write(`warning: ${message}`);
  },
  debug(message: string): void {
    if (debugEnabled) write(`debug: ${message}`);
  },
  /** A line of a command's data, for stdout. */
  out(line: string): void {
    // not after the reader went away (`berth images | head -1`)
    if (process.stdout.writable) process.stdout.write(`${redact(line)}\n`);
  },
};
