import type { Client } from 'ssh2';
import { ConnectError } from '../util/errors.js';
import { runOnChannel } from './exec.js';
import { shellQuote } from './shell.js';

/** How this login runs commands as root: it is root, sudo needs no password, or sudo takes one on stdin. */
export type SudoMode = 'root' | 'nopasswd' | 'password';

/**
 * Finds out once per connection how sudo behaves, so that the password is only fed to a sudo that will read
 * it (a sudo that does not ask would pass the password on to the command's stdin) and a wrong password is
 * reported as such, not as a failure of the command.
 */
export async function detectSudoMode(
  client: Client,
  label: string,
  user: string,
  password: string | undefined,
): Promise<SudoMode> {
  if (user === 'root') return 'root';
  const probe = await runOnChannel(
    client,
    { label, command: 'sudo -n true', shown: 'sudo -n true' },
    { allowFailure: true, timeoutMs: 30_000 },
  );
  if (probe.code === 0) return 'nopasswd';
  if (probe.code === 127) throw new ConnectError(label, `user ${user} is not root and sudo is not installed`);
  if (/not in the sudoers|may not run sudo|not allowed to/i.test(probe.stderr))
    throw new ConnectError(
      label,
      `user ${user} may not use sudo; log in as root or grant ${user} sudo rights`,
    );
  if (password === undefined)
    throw new ConnectError(
      label,
      `sudo asks user ${user} for a password; pass it with -p or BERTH_SSH_PASSWORD`,
    );
  const check = await runOnChannel(
    client,
    { label, command: "sudo -S -p '' true", shown: 'sudo -S true', stdinPrefix: `${password}\n` },
    { allowFailure: true, timeoutMs: 30_000 },
  );
  if (check.code === 0) return 'password';
  throw new ConnectError(label, `sudo refused the password of user ${user}; give the right sudo password`);
}

/** The remote command line and stdin prefix that run `command` as root in the given mode. */
export function asRoot(
  command: string,
  mode: SudoMode,
  password: string | undefined,
): { command: string; stdinPrefix?: string } {
  if (mode === 'root') return { command };
  if (mode === 'nopasswd') return { command: `sudo -n -- sh -c ${shellQuote(command)}` };
  return { command: `sudo -S -p '' -- sh -c ${shellQuote(command)}`, stdinPrefix: `${password}\n` };
}
