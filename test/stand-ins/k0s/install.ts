// Generator for the k0s stand-in's bin/ file: one executable `k0s` (the kubeadm stand-ins' executable form:
// node's shebang and the bundled module) with its version baked in and, as k0s carries its components,
// the kube-apiserver and kubelet stand-ins embedded for it to write into <data-dir>/bin when it starts.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleStandIn } from '../k3s/install.js';
import { writeKubeApiserverStandIn } from '../kube-apiserver/install.js';
import { executable, writeKubeadmStandIns } from '../kubeadm/install.js';
import { embeddedBinariesLine } from './embedded-binaries.js';

/**
 * Writes `k0s` into destBinDir for k0s `version` (`v1.28.x+k0s.N` to `v1.30.x+k0s.N`); its Kubernetes
 * version is the part before `+`. BERTH_STANDIN_K0S_VERSION in the environment overrides the baked one.
 */
export async function writeK0sStandIn(destBinDir: string, version: string): Promise<void> {
  if (!/^v1\.(28|29|30)\.\d+\+k0s\.\d+$/.test(version))
    throw new Error(`k0s stand-in version ${version} is not of the form v1.28–v1.30.x+k0s.N`);
  const kube = version.replace(/\+.*$/, '');
  const standIns = dirname(dirname(fileURLToPath(import.meta.url)));
  const work = await mkdtemp(join(tmpdir(), 'k0s-standin-'));
  try {
    const apiserver = await readFile(await writeKubeApiserverStandIn(work, kube), 'utf8');
    await writeKubeadmStandIns(work, kube);
    const kubelet = await readFile(join(work, 'kubelet'), 'utf8');
    const bundle = await bundleStandIn(standIns, 'k0s/main', `k0s ${version} stand-in`);
    const file = executable(bundle, { BERTH_STANDIN_K0S_VERSION: version }, [
      embeddedBinariesLine({ 'kube-apiserver': apiserver, kubelet }),
    ]);
    await mkdir(destBinDir, { recursive: true });
    const path = join(destBinDir, 'k0s');
    await writeFile(path, file, { mode: 0o755 });
    await chmod(path, 0o755);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
