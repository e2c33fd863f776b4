// Generator for the kubeadm and kubelet stand-ins' bin/ files: each one executable file (node's shebang and
// the bundled ES module, built with the k3s stand-in's bundler), kubeadm with its Kubernetes version baked
// in; plus the kubelet.service unit and kubeadm drop-in an image installs with them.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleStandIn } from '../k3s/install.js';

/** A bundle as one executable node file: `env` set unless the environment has it, then `header` lines. */
export function executable(bundle: string, env: Record<string, string>, header: string[] = []): string {
  const setEnv = Object.entries(env)
    .map(([k, v]) => `process.env.${k} ??= ${JSON.stringify(v)};`)
    .join('\n');
  // the shebang makes the file an ES module without a .mjs name or a package.json beside it
  const [imports, ...rest] = bundle.split('\n\n');
  return `#!${process.execPath} --experimental-default-type=module\n${imports}\n${[setEnv, ...header].join('\n')}\n\n${rest.join('\n\n')}`;
}

/**
 * Writes `kubeadm` and `kubelet` into destBinDir for Kubernetes `version` (v1.27.x–v1.31.x). The version is
 * read at start from BERTH_STANDIN_KUBE_VERSION, which the file sets when the environment does not.
 */
export async function writeKubeadmStandIns(destBinDir: string, version: string): Promise<void> {
  const standIns = dirname(dirname(fileURLToPath(import.meta.url)));
  await mkdir(destBinDir, { recursive: true });
  const env = { BERTH_STANDIN_KUBE_VERSION: version };
  for (const [name, entry] of [
    ['kubeadm', 'kubeadm/main'],
    ['kubelet', 'kubelet/main'],
  ] as const) {
    const path = join(destBinDir, name);
    await writeFile(
      path,
      executable(await bundleStandIn(standIns, entry, `${name} ${version} stand-in`), env),
      {
        mode: 0o755,
      },
    );
    await chmod(path, 0o755);
  }
}

/** kubelet.service as the kubelet package ships it, for `binDir`'s kubelet. */
export const kubeletUnit = (kubeletPath: string) => `[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=${kubeletPath}
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`;

/** The kubeadm drop-in (kubelet.service.d/10-kubeadm.conf) that feeds kubeadm's files to the kubelet. */
export const kubeadmDropIn = (kubeletPath: string) => `[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=${kubeletPath} $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`;
