import type { Command } from 'commander';

// One line per command module; each module only declares flags and calls into the layers below,
// importing them lazily so that `berth --help` stays fast.
export const commands: Array<(program: Command) => void> = [];
