import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type HostInit, type Sandbox, sandboxDown, sandboxUp } from '../../src/sandbox/index.js';
import { NotFoundError } from '../../src/util/errors.js';

const bin = fileURLToPath(new URL('../../../bin/berth', import.meta.url));
const pending = new Set<string>();
let exitHookInstalled = false;

// If the test process ends without running its after-hooks (a crash, process.exit), the hosts would
// outlive it; the exit hook cannot wait for promises, so it runs `berth sandbox down` synchronously.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const name of pending) {
      spawnSync(process.execPath, [bin, 'sandbox', 'down', '--name', name], {
        stdio: 'ignore',
        env: process.env,
      });
    }
  });
}

/**
 * The init of every test sandbox host that does not ask for one: BERTH_TEST_INIT=sshd runs the tests on
 * hosts with sshd as PID 1, =systemd insists on systemd; unset, systemd where the machine has it.
 */
export const testInit: HostInit | undefined = (() => {
  const v = process.env.BERTH_TEST_INIT;
  if (v === undefined || v === '') return undefined;
  if (v !== 'sshd' && v !== 'systemd') throw new Error(`BERTH_TEST_INIT=${v}: give sshd or systemd`);
  return v;
})();

async function down(name: string): Promise<void> {
  try {
    await sandboxDown(name);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  pending.delete(name);
}

/**
 * Brings a sandbox up for a test and removes it when the test ends (pass or fail). Without a test
 * context the caller must call sandboxDown itself; the exit hook still covers a crash.
 */
export async function withSandbox(
  t: TestContext | undefined,
  opts: { name: string; hosts: number; bandwidth?: string; init?: HostInit },
): Promise<Sandbox> {
  installExitHook();
  pending.add(opts.name);
  let sandbox: Sandbox;
  try {
    const init = opts.init ?? testInit;
    sandbox = await sandboxUp(init ? { ...opts, init } : opts);
  } catch (err) {
    // A failed up removes what it made; a name clash must not tear down the sandbox that holds it.
    pending.delete(opts.name);
    throw err;
  }
  const home = process.env.BERTH_HOME;
  t?.after(async () => {
    // without its record under BERTH_HOME the sandbox cannot be found, and its hosts would outlive the run
    if (home && !existsSync(home))
      throw new Error(
        `sandbox ${opts.name}: its BERTH_HOME ${home} was removed before it went down; remove the home in an after-hook registered after withSandbox`,
      );
    await down(opts.name);
  });
  return sandbox;
}
