// The preflight checks whose outcome the stand-in can judge on a host (files and directories kubeadm would
// overwrite, ports in use), reported and ignored (--ignore-preflight-errors, `all`) as kubeadm does.
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { KubeadmError } from './config-load.js';

export interface Check {
  name: string;
  run(): Promise<string | undefined>;
}

export const fileAvailable = (path: string): Check => ({
  name: `FileAvailable-${path.replace(/\//g, '-')}`,
  run: async () => (existsSync(path) ? `${path} already exists` : undefined),
});

export const dirAvailable = (path: string): Check => ({
  name: `DirAvailable-${path.replace(/\//g, '-')}`,
  run: async () => (existsSync(path) && readdirSync(path).length ? `${path} is not empty` : undefined),
});

export const portOpen = (port: number): Check => ({
  name: `Port-${port}`,
  run: () =>
    new Promise((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(`Port ${port} is in use`));
      srv.listen(port, () => srv.close(() => resolve(undefined)));
    }),
});

export async function runPreflight(
  checks: Check[],
  ignore: string[],
  log: (l: string) => void,
): Promise<void> {
  log('[preflight] Running pre-flight checks');
  const ignored = new Set(ignore.map((i) => i.toLowerCase()));
  const errors: string[] = [];
  for (const c of checks) {
    const problem = await c.run();
    if (!problem) continue;
    if (ignored.has('all') || ignored.has(c.name.toLowerCase())) log(`\t[WARNING ${c.name}]: ${problem}`);
    else errors.push(`\t[ERROR ${c.name}]: ${problem}`);
  }
  if (errors.length)
    throw new KubeadmError(
      `error execution phase preflight: [preflight] Some fatal errors occurred:\n${errors.join('\n')}\n[preflight] If you know what you are doing, you can make a check non-fatal with \`--ignore-preflight-errors=...\``,
    );
}
