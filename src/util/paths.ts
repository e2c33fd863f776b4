import { homedir } from 'node:os';
import { join } from 'node:path';

/** berth's data dir: BERTH_HOME, else ~/.berth. Everything berth keeps locally lives below it. */
export function berthHome(): string {
  return process.env.BERTH_HOME || join(homedir(), '.berth');
}

export function berthPath(...parts: string[]): string {
  return join(berthHome(), ...parts);
}
