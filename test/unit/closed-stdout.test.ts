import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeImage } from '../../src/image/image-write.js';
import { ImageStore } from '../../src/image/store.js';

// `berth images | head -1`: the reader of berth's stdout goes away before berth has written. berth ends
// quietly with its own status, as with any command whose output is cut short by head.

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function withClosedStdout(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], {
      env: { ...process.env, CI: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // the read end closes now, so berth's first write to stdout fails with EPIPE
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stderr }));
  });
}

test('a closed stdout ends every printing command quietly with status 0', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 't-epipe-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const store = new ImageStore(join(home, 'images'));
  const { manifestDescriptor } = await writeImage(
    store,
    {
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { a: '1' } },
      rootfs: { type: 'layers', diff_ids: [] },
    },
    [],
    't-epipe/a:1',
  );
  for (let i = 0; i < 200; i++) await store.tag(`t-epipe/b:${i}`, manifestDescriptor);
  const commands = [
    ['images'],
    ['images', '--json'],
    ['inspect', 't-epipe/a:1', '--platform', 'linux/amd64'],
    ['inspect', 't-epipe/a:1', '--platform', 'linux/amd64', '--json'],
    ['gen', 't-epipe/a:1', '--masters', '10.0.0.2'],
    ['--version'],
    ['--help'],
  ];
  for (const args of commands) {
    const r = await withClosedStdout(args, { BERTH_HOME: home });
    assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '', `berth ${args.join(' ')}`);
  }
});
