// Generator for the kube-apiserver stand-in's bin/ file: the compiled modules linked into one ES module (the
// k3s stand-in's bundler) behind a sh header, so it is one executable file as the real binary is. Unlike the
// k3s stand-in it unpacks nothing: node reads the program from the file itself, so a host keeps no file a
// real kube-apiserver would not leave.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleStandIn } from '../k3s/install.js';

const BUNDLE_MARKER = '#__KUBE_APISERVER_STANDIN_BUNDLE__';

function launcher(bundle: string, version: string): string {
  const load = [
    "import { readFileSync } from 'node:fs';",
    "const text = readFileSync(process.env.BERTH_STANDIN_SELF, 'utf8');",
    `const mark = '\\n${BUNDLE_MARKER}\\n';`,
    "await import('data:text/javascript;base64,' + Buffer.from(text.slice(text.indexOf(mark) + mark.length)).toString('base64'));",
  ].join(' ');
  return [
    '#!/bin/sh',
    `# kube-apiserver ${version} stand-in for berth's tests (one file: a sh header, then the program).`,
    'BERTH_STANDIN_SELF=$(readlink -f "$0" 2>/dev/null || echo "$0")',
    'BERTH_STANDIN_ARGV0="$0"',
    `KUBE_APISERVER_STANDIN_VERSION=\${KUBE_APISERVER_STANDIN_VERSION:-${version}}`,
    'export BERTH_STANDIN_SELF BERTH_STANDIN_ARGV0 KUBE_APISERVER_STANDIN_VERSION',
    `node_bin=${process.execPath}`,
    '[ -x "$node_bin" ] || node_bin=node',
    `exec "$node_bin" --input-type=module -e "${load}" -- "$@"`,
    'exit 127',
    BUNDLE_MARKER,
    bundle,
  ].join('\n');
}

/** Writes the one-file `kube-apiserver` reporting `version` (default v1.29.3) into destBinDir. */
export async function writeKubeApiserverStandIn(destBinDir: string, version = 'v1.29.3'): Promise<string> {
  const standIns = dirname(dirname(fileURLToPath(import.meta.url)));
  const bundle = await bundleStandIn(standIns, 'kube-apiserver/main', `kube-apiserver ${version} stand-in`);
  await mkdir(destBinDir, { recursive: true });
  const file = join(destBinDir, 'kube-apiserver');
  await writeFile(file, launcher(bundle, version), { mode: 0o755 });
  await chmod(file, 0o755);
  return file;
}
