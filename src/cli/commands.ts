import type { Command } from 'commander';
import { registerGen } from './gen.js';
import { registerLogin, registerLogout } from './login.js';
import { registerPull } from './pull.js';
import { registerPush } from './push.js';

// One line per command module; each module only declares flags and calls into the layers below,
// importing them lazily so that `berth --help` stays fast.
export const commands: Array<(program: Command) => void> = [];
commands.push(registerPull, registerPush, registerLogin, registerLogout);
commands.push(registerGen);
