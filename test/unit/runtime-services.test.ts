import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  installService,
  removeService,
  servicePaths,
  serviceStatus,
  startService,
  stopService,
} from '../../src/host/services.js';
import { runLocal, sh, shStatus } from '../helpers/run-local.js';

function alive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/.*\) /s, '').split(' ')[0];
    return state !== 'Z';
  } catch {
    return false;
  }
}

function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = readFileSync(`/proc/${d}/stat`, 'utf8').replace(/.*\) /s, '').split(' ');
      if (Number(f[2]) === pgid && f[0] !== 'Z') out.push(Number(d));
    } catch {}
  }
  return out;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out;
}

test('fallback supervisor: start, status, idempotent start, stop kills the group, remove leaves nothing', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'berth-svc-'));
  const layout = { root };
  const name = 't-svc-sleep';
  const p = servicePaths(name, layout);
  let pgid = 0;
  t.after(() => {
    if (pgid && groupMembers(pgid).length > 0) process.kill(-pgid, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  // the service forks a second sleeper so that killing only the main process would leave one behind
  runLocal(
    installService(
      { name, description: 'test sleeper', command: "sh -c 'sleep 300 & sleep 301; wait'" },
      layout,
    ),
  );
  assert.equal(shStatus(serviceStatus(name, layout)), 0, 'status says running after install');
  pgid = Number(readFileSync(p.pidFile, 'utf8').trim());
  assert.ok(alive(pgid));
  // wait (bounded) until both sleepers exist in the group
  for (let i = 0; i < 50 && groupMembers(pgid).length < 4; i++) sh('sleep 0.1');
  const members = groupMembers(pgid);
  assert.ok(members.length >= 4, `supervisor, service sh and two sleeps in one group: ${members}`);

  sh(startService(name, layout));
  assert.equal(Number(readFileSync(p.pidFile, 'utf8').trim()), pgid, 'second start is a no-op');
  runLocal(
    installService(
      { name, description: 'test sleeper', command: "sh -c 'sleep 300 & sleep 301; wait'" },
      layout,
    ),
  );
  assert.equal(Number(readFileSync(p.pidFile, 'utf8').trim()), pgid, 'unchanged re-install keeps it running');

  sh(stopService(name, layout));
  assert.deepEqual(groupMembers(pgid), [], 'no process of the group is left');
  assert.equal(existsSync(p.pidFile), false);
  assert.notEqual(shStatus(serviceStatus(name, layout)), 0, 'status says stopped');
  sh(stopService(name, layout));

  sh(startService(name, layout));
  const second = Number(readFileSync(p.pidFile, 'utf8').trim());
  assert.notEqual(second, pgid);
  pgid = second;
  for (const c of removeService(name, layout)) sh(c);
  assert.deepEqual(groupMembers(second), []);
  assert.deepEqual(listFiles(root), [], 'remove leaves no file');
});

test('a changed definition restarts the service; a dying service is restarted', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'berth-svc-'));
  const layout = { root };
  const name = 't-svc-restart';
  const p = servicePaths(name, layout);
  t.after(() => {
    try {
      for (const c of removeService(name, layout)) sh(c);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
  runLocal(installService({ name, description: 'short', command: 'sleep 0.2' }, layout));
  const first = readFileSync(p.pidFile, 'utf8').trim();
  // the child exits after 0.2 s; the supervisor logs and restarts it after 1 s
  let log = '';
  for (let i = 0; i < 40 && !log.includes('restarting'); i++) {
    sh('sleep 0.1');
    log = existsSync(p.logFile) ? readFileSync(p.logFile, 'utf8') : '';
  }
  assert.match(log, /t-svc-restart exited with status 0 .*restarting in 1 s/);
  assert.equal(shStatus(serviceStatus(name, layout)), 0);
  runLocal(installService({ name, description: 'long', command: 'sleep 300' }, layout));
  assert.notEqual(readFileSync(p.pidFile, 'utf8').trim(), first, 'changed definition restarted it');
  assert.match(readFileSync(p.runFile, 'utf8'), /exec sleep 300/);
});

test('service names are checked', () => {
  assert.throws(() => startService('Bad Name'), /lower-case letters/);
});
