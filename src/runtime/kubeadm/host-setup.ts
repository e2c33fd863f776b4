import type { HostAction } from '../../host/action.js';
import { rememberIfAbsent } from '../../host/created-paths.js';
import { installService, type ServiceSpec, servicePaths, writeFileCommand } from '../../host/services.js';
import { shellQuote } from '../../util/shell.js';
import {
  binDir,
  bootstrapKubeletConf,
  createdRecord,
  etcdDataDir,
  kubeletConf,
  kubeletConfig,
  kubeletFlagsEnv,
  kubePrograms,
} from './host-paths.js';

// What every kubeadm host needs before kubeadm runs there: kubeadm, kubelet and kubectl from the image's
// bin/ in /usr/bin (unless the image's init hook put the same ones there), and the kubelet as a service of
// the host's service manager, started the way the kubeadm packages' systemd drop-in starts it.

/**
 * Directories etcd, the kubelet, kube-proxy and the CNI plugins create when absent; reset removes those
 * berth saw absent, so a machine's own (an etcd package's /var/lib/etcd) stays.
 */
export const kubeletMadeDirs = [
  etcdDataDir,
  '/etc/cni',
  '/etc/cni/net.d',
  '/opt/cni',
  '/var/lib/cni',
  '/run/flannel',
  '/var/run/kubernetes',
  '/var/log/pods',
  '/var/log/containers',
];

/** Installs the image's programs; a path that did not exist before is recorded for reset. */
export function installProgramsAction(rootfsDir: string): HostAction {
  return {
    description: 'install kubeadm, kubelet and kubectl',
    commands: [
      ...kubeletMadeDirs.map((d) => rememberIfAbsent(createdRecord, d)),
      ...kubePrograms.map((name) => {
        const src = shellQuote(`${rootfsDir}/bin/${name}`);
        const dest = `${binDir}/${name}`;
        return `[ -f ${src} ] || { echo "the cluster image has no bin/${name} (looked for ${src})" >&2; exit 1; }
${rememberIfAbsent(createdRecord, dest)}
if ! cmp -s ${src} ${dest}; then install -m 0755 ${src} ${dest}.new && mv -f ${dest}.new ${dest}; fi`;
      }),
    ],
  };
}

/** Seconds the kubelet service waits for kubeadm's config.yaml before it exits (and is restarted). */
const configWaitSeconds = 600;

/**
 * The kubelet as kubeadm expects it: enabled before `kubeadm init` or `join`, which write its config and
 * flags and then wait for it. It waits for that config instead of crash-looping, so that berth's
 * supervisor (no systemd) does not back off just when kubeadm needs it.
 */
export const kubeletService: ServiceSpec = {
  name: 'kubelet',
  description: 'kubelet, configured by kubeadm (berth)',
  prelude: `i=0
while [ ! -s ${kubeletConfig} ]; do
  i=$((i + 1))
  if [ $i -ge ${configWaitSeconds} ]; then echo "kubelet: no ${kubeletConfig} after ${configWaitSeconds} s; kubeadm init or join writes it"; exit 1; fi
  sleep 1
done
KUBELET_KUBEADM_ARGS=''
KUBELET_EXTRA_ARGS=''
if [ -f ${kubeletFlagsEnv} ]; then . ${kubeletFlagsEnv}; fi
if [ -f /etc/default/kubelet ]; then . /etc/default/kubelet; fi`,
  command: `${binDir}/kubelet --bootstrap-kubeconfig=${bootstrapKubeletConf} --kubeconfig=${kubeletConf} --config=${kubeletConfig} $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS`,
};

/**
 * A sh function start_kubelet that starts the kubelet before kubeadm runs: through the unit the image's init hook installed, when it did
 * (the sealos images ship kubelet.service and kubeadm's drop-in), else as berth's own service. berth's
 * files are written by the command, so a host using the image's unit gets none of them.
 */
export function kubeletStartFunction(): string {
  const service = installService(kubeletService);
  const own = [
    ...(service.files ?? []).map((f) => writeFileCommand(f.path, f.content, f.mode)),
    ...(service.commands ?? []),
  ];
  const runFile = servicePaths(kubeletService.name).runFile;
  return `start_kubelet() {
if [ -d /run/systemd/system ] && [ ! -f ${runFile} ] && systemctl cat kubelet.service >/dev/null 2>&1; then
echo "starting the kubelet unit the image installed"
systemctl enable kubelet >/dev/null 2>&1 || :
systemctl start kubelet
else
${own.join('\n')}
fi
}`;
}
