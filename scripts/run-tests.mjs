// Node 20's test runner takes no globs, and its directory discovery would also pick up helper modules
// under dist/test/, so the test files are listed here: every *.test.js below the given folders.
// The tests (and the berth processes they start) get a TMPDIR of their own, removed when they end, so a
// test that forgets a temp dir, or is killed before its cleanup, leaves nothing in the machine's /tmp.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const dirs = process.argv.slice(2);
const files = dirs.flatMap((d) => collect(d, []));
const only = process.env.BERTH_TEST_ONLY;
const chosen = only ? files.filter((f) => f.includes(only)) : files;
// node --test with no file runs every test it finds below the working dir, sandbox ones included
if (chosen.length === 0) {
  console.error(
    `run-tests: no test file under ${dirs.join(' ')}${only ? ` matches BERTH_TEST_ONLY=${only}` : ''}`,
  );
  process.exit(2);
}
const testTmp = mkdtempSync(join(tmpdir(), 'berth-test-run-'));
// Ctrl-C reaches the test process too; this one outlives it to remove the temp dir.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => {});
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=1', '--test-timeout=1200000', ...chosen],
  { stdio: 'inherit', env: { ...process.env, TMPDIR: testTmp } },
);
// A sandbox left up by a crashed test has its hosts' mounts below its BERTH_HOME: never delete through them.
// The hosts' own mounts live in their private mount namespaces, where this process cannot see them, but
// each host's boot script runs from its folder below the BERTH_HOME.
const mounted = readFileSync('/proc/self/mountinfo', 'utf8')
  .split('\n')
  .map((line) => line.split(' ')[4] ?? '')
  .filter((point) => point.startsWith(`${testTmp}/`));
function processesFromTestTmp() {
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid))
    .map((pid) => {
      try {
        return { pid, cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim() };
      } catch {
        return { pid, cmdline: '' };
      }
    })
    .filter((p) => p.cmdline.includes(`${testTmp}/`));
}
// A process a test's cleanup has just signalled may still be exiting: give it a few seconds.
let hostsUp = processesFromTestTmp();
for (let waited = 0; hostsUp.length > 0 && waited < 20; waited++) {
  spawnSync('sleep', ['0.5']);
  hostsUp = processesFromTestTmp();
}
if (mounted.length > 0 || hostsUp.length > 0) {
  console.log(
    `run-tests: ${testTmp} kept: ${mounted.length} mount(s) below it${mounted[0] ? `, first ${mounted[0]}` : ''}, ${hostsUp.length} process(es) running from it${hostsUp[0] ? `, first PID ${hostsUp[0].pid}: ${hostsUp[0].cmdline.slice(0, 300)}` : ''}`,
  );
  process.exit(result.status || 1);
}
const left = readdirSync(testTmp);
if (left.length > 0)
  console.log(
    `run-tests: the tests left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} in their TMPDIR (removed): ${left.slice(0, 10).join(' ')}${left.length > 10 ? ' …' : ''}`,
  );
rmSync(testTmp, { recursive: true, force: true });
process.exit(result.status ?? 1);
