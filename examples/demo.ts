// berth's main job on one machine: three sandbox hosts, the example cluster image (k3s, or kubeadm or k0s
// with `--distribution kubeadm|k0s`) and the example application image built offline, `berth run` of the cluster
// onto 1 master + 2 nodes, `kubectl get nodes`, then `berth run` of the application on the running
// cluster: its pod ends Running on a node, its image pulled from the cluster registry. Run as root:
// `npm run demo`, `npm run demo -- --distribution kubeadm` or `npm run demo -- --distribution k0s`.
// Re-running it first removes the previous demo cluster and sandbox. BERTH_BIN=./berth-linux-amd64 runs
// every berth command through the single file that `npm run package` makes instead of ./bin/berth.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  buildExampleApp,
  buildExampleImage,
  type ExampleDistribution,
  K0S_EXAMPLE_VERSION,
  KUBEADM_EXAMPLE_VERSION,
} from './example-image.js';

const berth = process.env.BERTH_BIN
  ? resolve(process.env.BERTH_BIN)
  : fileURLToPath(new URL('../../bin/berth', import.meta.url));
const name = 'demo';
let distribution: ExampleDistribution;
try {
  const { values } = parseArgs({ options: { distribution: { type: 'string', default: 'k3s' } } });
  const d = values.distribution;
  if (d !== 'k3s' && d !== 'kubeadm' && d !== 'k0s')
    throw new Error(`--distribution ${d}: use k3s, kubeadm or k0s`);
  distribution = d;
} catch (e) {
  process.stderr.write(`demo: ${(e as Error).message}\n`);
  process.exit(2);
}
const images: Record<ExampleDistribution, string> = {
  k3s: 'example/k3s:v1.28.14',
  kubeadm: `example/kubeadm:${KUBEADM_EXAMPLE_VERSION}`,
  // a tag has no `+`
  k0s: `example/k0s:${K0S_EXAMPLE_VERSION.replace('+', '-')}`,
};
const image = images[distribution];
const app = 'example/hello:1.0';

function step(title: string): void {
  process.stdout.write(`\n### ${title}\n`);
}

function run(cmd: string, args: string[], allowFailure = false): number {
  process.stdout.write(`$ ${[cmd === berth ? 'berth' : cmd, ...args].join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  const code = r.status ?? 1;
  if (code !== 0 && !allowFailure) {
    process.stderr.write(`demo: ${cmd === berth ? 'berth' : cmd} ${args[0]} failed (exit ${code})\n`);
    process.exit(code);
  }
  return code;
}

if (process.getuid?.() !== 0) {
  process.stderr.write(
    'demo: run as root (sandbox hosts need network and mount namespaces): sudo npm run demo\n',
  );
  process.exit(4);
}

if (process.env.BERTH_BIN) {
  if (!existsSync(berth)) {
    process.stderr.write(
      `demo: BERTH_BIN=${process.env.BERTH_BIN}: no such file (make it with: npm run package)\n`,
    );
    process.exit(9);
  }
  process.stdout.write(`berth commands run through ${berth}\n`);
}
step('clean up a previous demo, if any');
run(berth, ['reset', '--cluster', name], true);
run(berth, ['sandbox', 'down', '--name', name], true);

step(`build the example cluster image ${image} from examples/${distribution} (offline)`);
const work = mkdtempSync(join(tmpdir(), 'berth-demo-'));
try {
  const built = await buildExampleImage({ tag: image, workDir: work, distribution });
  if (distribution === 'kubeadm') {
    process.stdout.write(
      "NOTE: kubeadm, kubelet and kube-apiserver in the image are berth's TEST STAND-INS (test/stand-ins: their\n" +
        '      flags, files and a small Kubernetes API); etcd is the real one, kubectl, containerd and runc are\n' +
        "      this machine's.\n",
    );
  } else if (distribution === 'k0s' && built.standIn) {
    process.stdout.write(
      "NOTE: no real k0s binary is available on this machine, so the image carries berth's k0s TEST STAND-IN\n" +
        '      (test/stand-ins/k0s: k0s v1.29 commands, flags, files and a small Kubernetes API; it runs the real\n' +
        "      etcd and this machine's containerd). Set BERTH_K0S_BINARY=/path/to/k0s to build it with a real k0s.\n",
    );
  } else if (built.standIn) {
    process.stdout.write(
      "NOTE: no real k3s binary is available on this machine, so the image carries berth's k3s TEST STAND-IN\n" +
        '      (test/stand-ins/k3s: k3s v1.28 flags, files and a small Kubernetes API; it runs real containerd).\n' +
        '      Set BERTH_K3S_BINARY=/path/to/k3s to build the image with a real k3s instead.\n',
    );
  }
  step(`build the example application image ${app} from examples/hello (offline)`);
  await buildExampleApp({ tag: app, workDir: work });
} finally {
  rmSync(work, { recursive: true, force: true });
}
run(berth, ['inspect', image]);

step('three local sandbox hosts');
run(berth, ['sandbox', 'up', '--name', name, '--hosts', '3']);

step('install the cluster: 1 master + 2 nodes');
run(berth, ['run', image, '--sandbox', name, '--masters', '1', '--nodes', '2', '--cluster', name]);

step('the cluster, through the Kubernetes API');
const kubeconfig = spawnSync(berth, ['kubeconfig', '--cluster', name, '--path'], {
  encoding: 'utf8',
}).stdout.trim();
const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', kubeconfig, ...args]);
kubectl('get', 'nodes', '-o', 'wide');

step(`add the application ${app} to the running cluster`);
run(berth, ['run', app, '--cluster', name]);
kubectl('rollout', 'status', 'deployment/hello', '--timeout=120s');
kubectl('get', 'pods', '-l', 'app=hello', '-o', 'wide');
kubectl(
  'get',
  'pods',
  '-l',
  'app=hello',
  '-o',
  'jsonpath={range .items[*]}{.metadata.name} on {.spec.nodeName}: {.status.phase}, image {.status.containerStatuses[0].imageID}{"\\n"}{end}',
);
run(berth, ['status', '--cluster', name]);

process.stdout.write(
  `\nkubeconfig: ${kubeconfig}\nremove it all with: berth reset --cluster ${name} && berth sandbox down --name ${name}\n`,
);
