// `npm run package`: berth as one executable per platform, for machines with no Node.js. The compiled code
// (dist/) is bundled by esbuild into one CommonJS file, put as an asset into a Node single executable
// application beside a small launcher, and injected into a copy of a Node binary. A .sha256 file
// (sha256sum format) goes beside each file.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { build } from 'esbuild';
import { inject } from 'postject';

const root = fileURLToPath(new URL('../..', import.meta.url));
const sentinelFuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const info = JSON.parse(readFileSync(join(root, 'dist', 'build-info.json'), 'utf8'));
const outDir = process.env.BERTH_PACKAGE_DIR || root;

// Each platform's file is a copy of that platform's Node binary; this machine's own is always there.
const hostArch = { x64: 'amd64', arm64: 'arm64' }[process.arch];
const targets = [{ arch: hostArch, node: process.execPath }];
const otherArch = hostArch === 'amd64' ? 'arm64' : 'amd64';
const otherNode = process.env[`BERTH_NODE_${otherArch.toUpperCase()}`];
if (otherNode) targets.push({ arch: otherArch, node: otherNode });

const work = mkdtempSync(join(tmpdir(), 'berth-package-'));
try {
  const bundle = join(work, 'berth.cjs');
  const result = await build({
    stdin: {
      contents:
        "import { runCli } from './dist/src/cli/program.js';\n" +
        'runCli(process.argv).then((code) => { process.exitCode = code; });\n',
      resolveDir: root,
      loader: 'js',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    define: { BERTH_BUILD_INFO: JSON.stringify(info) },
    // Native add-ons cannot live inside the file; ssh2 and cpu-features load theirs in a try and fall
    // back to pure JavaScript when the require fails.
    external: ['*.node', 'cpu-features'],
    legalComments: 'none',
    logLevel: 'warning',
    // build-info.js reads dist/build-info.json through import.meta only when BERTH_BUILD_INFO is not
    // defined, which in the bundle it always is.
    logOverride: { 'empty-import-meta': 'silent' },
    write: false,
  });
  if (result.errors.length > 0) process.exit(1);
  // The launcher runs this exact text; the code cache is only valid for the text it was made from.
  const wrapped = `(function (require, module, exports, __filename, __dirname) {${result.outputFiles[0].text}\n})`;
  writeFileSync(bundle, wrapped);
  const cache = join(work, 'berth.cache');
  writeFileSync(cache, new Script(wrapped, { filename: 'berth.cjs' }).createCachedData());

  const launcher = join(work, 'launcher.cjs');
  writeFileSync(
    launcher,
    `const BERTH_BUILD_INFO = ${JSON.stringify(info)};\n${readFileSync(join(root, 'scripts/package/launcher.cjs'), 'utf8')}`,
  );
  const blob = join(work, 'sea-prep.blob');
  const seaConfig = join(work, 'sea-config.json');
  writeFileSync(
    seaConfig,
    JSON.stringify({
      main: launcher,
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: false,
      assets: { 'berth.cjs': bundle, 'berth.cache': cache },
    }),
  );
  execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: 'inherit' });

  for (const t of targets) {
    const file = join(outDir, `berth-linux-${t.arch}`);
    rmSync(file, { force: true });
    copyFileSync(t.node, file);
    chmodSync(file, 0o755);
    await inject(file, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse });
    const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
    writeFileSync(`${file}.sha256`, `${digest}  ${basename(file)}\n`);
    const mib = (statSync(file).size / 1024 / 1024).toFixed(1);
    console.log(`${file}: ${mib} MiB, sha256 ${digest}`);
  }
  if (!otherNode) {
    console.log(
      `berth-linux-${otherArch}: not made, no ${otherArch} Node binary on this machine ` +
        `(set BERTH_NODE_${otherArch.toUpperCase()}=PATH to a Node ${process.versions.node} binary for ${otherArch})`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
