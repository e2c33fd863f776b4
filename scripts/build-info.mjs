// Writes dist/build-info.json (version and git commit) after tsc, for `berth --version`.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

function git(args) {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const head = git(['rev-parse', '--short=12', 'HEAD']);
const dirty = head && git(['status', '--porcelain', '--untracked-files=no']) !== '';
const commit = head ? `${head}${dirty ? '-dirty' : ''}` : 'unknown';
writeFileSync(
  new URL('../dist/build-info.json', import.meta.url),
  `${JSON.stringify({ version, commit })}\n`,
);
