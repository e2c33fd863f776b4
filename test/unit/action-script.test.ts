import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { actionScript } from '../../src/host/action.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-action-'));
  dirs.push(dir);
  return dir;
}

// The script runs the way runAction runs it on a host: read from stdin, evaluated with stdin closed.
function runScript(script: string): { status: number | null; stderr: string } {
  const r = spawnSync('sh', ['-c', 'script=$(cat) && eval "$script" </dev/null'], {
    input: script,
    encoding: 'utf8',
  });
  return { status: r.status, stderr: r.stderr };
}

test('an action script writes files with their modes and runs commands in order, each in a subshell', () => {
  const dir = tempDir();
  const content = "odd 'quotes' $HOME `x` \\ and\nBERTH_FILE_EOF\nlines\n";
  const r = runScript(
    actionScript({
      description: 'test',
      files: [{ path: join(dir, 'sub', 'a.conf'), content, mode: 0o600 }],
      commands: [
        `cd ${dir} && echo one > log`,
        `echo two >> ${dir}/log`,
        `read x || echo "stdin closed" >> ${dir}/log`,
      ],
    }),
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(join(dir, 'sub', 'a.conf'), 'utf8'), content);
  assert.equal(statSync(join(dir, 'sub', 'a.conf')).mode & 0o777, 0o600);
  assert.equal(readFileSync(join(dir, 'log'), 'utf8'), 'one\ntwo\nstdin closed\n');
});

test('an action script stops at the first failing command', () => {
  const dir = tempDir();
  const r = runScript(
    actionScript({
      description: 'test',
      commands: [`echo a > ${dir}/log`, 'false', `echo b >> ${dir}/log`],
    }),
  );
  assert.notEqual(r.status, 0);
  assert.equal(readFileSync(join(dir, 'log'), 'utf8'), 'a\n');
});
