import type { Command } from 'commander';
import { registerBuild } from './build.js';
import { registerCert } from './cert.js';
import { registerKubeconfig, registerReset, registerScale, registerStatus } from './cluster.js';
import { registerCreate } from './create.js';
import { registerExec } from './exec.js';
import { registerGen } from './gen.js';
import { registerImages } from './images.js';
import { registerInspect } from './inspect.js';
import { registerLoad } from './load.js';
import { registerLogin, registerLogout } from './login.js';
import { registerMerge } from './merge.js';
import { registerMount } from './mount.js';
import { registerPrune } from './prune.js';
import { registerPull } from './pull.js';
import { registerPush } from './push.js';
import { registerRmi } from './rmi.js';
import { registerApply, registerRun } from './run.js';
import { registerSandbox } from './sandbox.js';
import { registerSave } from './save.js';
import { registerScp } from './scp.js';
import { registerTag } from './tag.js';
import { registerUmount } from './umount.js';
import { registerUpgrade } from './upgrade.js';

// One line per command module; each module only declares flags and calls into the layers below,
// importing them lazily so that `berth --help` stays fast.
export const commands: Array<(program: Command) => void> = [];
commands.push(registerPull, registerPush, registerLogin, registerLogout);
commands.push(registerGen);
commands.push(registerImages, registerInspect, registerTag, registerRmi, registerPrune, registerBuild);
commands.push(registerSave, registerLoad, registerMerge, registerCreate, registerMount, registerUmount);
commands.push(registerSandbox);
commands.push(registerExec, registerScp);
commands.push(registerRun, registerApply, registerScale, registerReset, registerStatus, registerKubeconfig);
commands.push(registerCert);
commands.push(registerUpgrade);
