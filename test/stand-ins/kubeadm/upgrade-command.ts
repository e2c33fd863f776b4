// `kubeadm upgrade plan|apply|node` (1.27–1.31): the version read from the kubeadm-config ConfigMap, kubeadm's
// skew policy (one minor at a time, no downgrade, never past kubeadm's own version, the control plane before
// the kubelets), the static pod manifests rewritten for the new version with the old ones backed up under
// /etc/kubernetes/tmp, the wait until the API server reports the new version, and the ClusterConfiguration
// stored back with its new kubernetesVersion.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseYamlSubset } from '../k3s/yaml-subset.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { KUBE_SYSTEM_CONFIGMAPS, storeKubeadmConfig } from './cluster-objects.js';
import { clusterSettings } from './cluster-settings.js';
import { bool, type FlagValues, str } from './cobra-flags.js';
import { KubeadmError } from './config-load.js';
import { ADMIN_CONF, KUBELET_CONF, kubeVersion, MANIFESTS_DIR, TMP_DIR } from './kubeadm-paths.js';
import { KubeClient } from './kubeconfig.js';
import { toYaml } from './yaml-write.js';

type Log = (l: string) => void;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Semver {
  text: string;
  major: number;
  minor: number;
  patch: number;
}

function semver(text: string): Semver | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(text.trim());
  if (!m) return undefined;
  return { text: `v${m[1]}.${m[2]}.${m[3]}`, major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

const compare = (a: Semver, b: Semver) => a.major - b.major || a.minor - b.minor || a.patch - b.patch;

/** The version a command named, parsed as kubeadm's `upgrade` does. */
function targetVersion(text: string): Semver {
  const v = semver(text);
  if (!v) throw new KubeadmError(`[upgrade/version] FATAL: unable to parse version "${text}"`);
  return v;
}

interface ClusterView {
  client: KubeClient;
  clusterDoc: KubeObject;
  version: Semver;
  kubelets: Array<{ node: string; version: string }>;
}

/** [upgrade/config]: the ClusterConfiguration and the kubelets' versions, read through `kubeconfig`. */
async function readCluster(kubeconfig: string, log: Log): Promise<ClusterView> {
  log('[upgrade/config] Reading configuration from the cluster...');
  log(
    `[upgrade/config] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'`,
  );
  if (!existsSync(kubeconfig))
    throw new KubeadmError(
      `[upgrade/config] FATAL: failed to load admin kubeconfig: open ${kubeconfig}: no such file or directory`,
    );
  const client = KubeClient.fromFile(kubeconfig);
  const cm = await client.get(`${KUBE_SYSTEM_CONFIGMAPS}/kubeadm-config`);
  if (!cm)
    throw new KubeadmError(
      '[upgrade/config] FATAL: failed to get config map: configmaps "kubeadm-config" not found',
    );
  const clusterDoc = parseYamlSubset(String(cm.data?.ClusterConfiguration ?? '')) as KubeObject;
  const version = semver(String(clusterDoc.kubernetesVersion ?? ''));
  if (!version)
    throw new KubeadmError(
      `[upgrade/config] FATAL: the ClusterConfiguration has no valid kubernetesVersion: "${clusterDoc.kubernetesVersion ?? ''}"`,
    );
  // a worker's kubelet credentials may not list nodes: its upgrade then has no kubelet versions to weigh
  const nodes = ((await client.get('/api/v1/nodes').catch(() => undefined))?.items ?? []) as KubeObject[];
  const kubelets = nodes.map((n) => ({
    node: String(n.metadata?.name),
    version: String(n.status?.nodeInfo?.kubeletVersion ?? ''),
  }));
  return { client, clusterDoc, version, kubelets };
}

/**
 * kubeadm's version policy for `upgrade apply`/`plan`: what makes the upgrade impossible (minor skips,
 * downgrades across a minor, a target past kubeadm's own version, kubelets more than three minors behind).
 */
export function upgradeSkewErrors(
  cluster: Semver,
  kubeadm: Semver,
  target: Semver,
  kubelets: Array<{ node: string; version: string }>,
): string[] {
  const errors: string[] = [];
  if (target.minor < cluster.minor)
    errors.push(
      `Specified version to upgrade to "${target.text}" is at least one minor release lower than the minimum supported control plane version "v${cluster.major}.${cluster.minor}.0". Downgrades are not supported`,
    );
  else if (compare(target, cluster) < 0)
    errors.push(
      `Specified version to upgrade to "${target.text}" is equal to or lower than the cluster version "${cluster.text}". Downgrades are not supported yet`,
    );
  if (target.minor > cluster.minor + 1)
    errors.push(
      `Specified version to upgrade to "${target.text}" is too high; kubeadm can upgrade only 1 minor version at a time`,
    );
  if (compare(target, kubeadm) > 0)
    errors.push(
      `Specified version to upgrade to "${target.text}" is higher than the kubeadm version "${kubeadm.text}". Upgrade kubeadm first using the tool you used to install kubeadm`,
    );
  if (kubeadm.minor > target.minor + 1)
    errors.push(
      `Kubeadm version "${kubeadm.text}" can only be used to upgrade to Kubernetes version "v${kubeadm.major}.${kubeadm.minor}"`,
    );
  const old = kubelets
    .map((k) => semver(k.version))
    .filter((v): v is Semver => !!v && v.minor < target.minor - 3)
    .map((v) => v.text);
  if (old.length)
    errors.push(
      `There are kubelets in this cluster that are too old that have these versions [${old.join(' ')}]`,
    );
  return errors;
}

function fatal(errors: string[]): never {
  throw new KubeadmError(
    `[upgrade/version] FATAL: the --version argument is invalid due to these fatal errors:\n\n${errors.map((e) => `\t- ${e}`).join('\n')}\n\nPlease fix the misalignments highlighted above and try upgrading again`,
  );
}

/** The image each control-plane manifest runs at `version`, as kubeadm's ClusterConfiguration defaults it. */
function imagesFor(clusterDoc: KubeObject, version: Semver): Record<string, string> {
  const i = clusterSettings(
    { ...clusterDoc, kubernetesVersion: version.text },
    version.text,
    version.minor,
  ).images;
  return {
    etcd: i.etcd,
    'kube-apiserver': i.apiserver,
    'kube-controller-manager': i.controllerManager,
    'kube-scheduler': i.scheduler,
  };
}

/**
 * [upgrade/staticpods]: each manifest whose image differs is backed up and written again with the image of
 * `version`; returns the components that changed.
 */
function rewriteManifests(
  clusterDoc: KubeObject,
  version: Semver,
  etcdUpgrade: boolean,
  dryRun: boolean,
  log: Log,
): string[] {
  const images = imagesFor(clusterDoc, version);
  const stamp = new Date().toISOString().replace(/T/, '-').replace(/:/g, '-').slice(0, 19);
  const backup = join(TMP_DIR, `kubeadm-backup-manifests-${stamp}`);
  const changed: string[] = [];
  for (const [component, image] of Object.entries(images)) {
    if (component === 'etcd' && !etcdUpgrade) continue;
    const path = join(MANIFESTS_DIR, `${component}.yaml`);
    if (!existsSync(path)) {
      if (component === 'etcd') continue;
      throw new KubeadmError(
        `[upgrade/staticpods] FATAL: couldn't upgrade control plane. the static Pod manifest ${path} does not exist`,
      );
    }
    const pod = parseYamlSubset(readFileSync(path, 'utf8')) as KubeObject;
    const container = pod.spec?.containers?.[0];
    if (!container || container.image === image) {
      log(`[upgrade/staticpods] Current and new manifests of ${component} are equal, skipping upgrade`);
      continue;
    }
    container.image = image;
    if (dryRun) {
      log(`[dryrun] Would write the ${component} manifest with image ${image}`);
      continue;
    }
    mkdirSync(backup, { recursive: true, mode: 0o700 });
    copyFileSync(path, join(backup, `${component}.yaml`));
    writeFileSync(path, toYaml(pod), { mode: 0o600 });
    log(
      `[upgrade/staticpods] Moved new manifest to "${path}" and backed up old manifest to "${join(backup, `${component}.yaml`)}"`,
    );
    changed.push(component);
  }
  return changed;
}

/** Waits until the local API server (restarted by the kubelet from its new manifest) reports `version`. */
async function waitForApiServerVersion(client: KubeClient, version: Semver, log: Log): Promise<void> {
  log('[upgrade/staticpods] Waiting for the kubelet to restart the component');
  log('[upgrade/staticpods] This can take up to 5m0s');
  const started = Date.now();
  let last = '';
  for (let i = 0; i < 100_000 && Date.now() - started < 300_000; i++) {
    try {
      const v = await client.call('GET', '/version', undefined, 3_000);
      if (v?.gitVersion === version.text) {
        log('[apiclient] Found 1 Pods for label selector component=kube-apiserver');
        log('[upgrade/staticpods] Component "kube-apiserver" upgraded successfully!');
        return;
      }
      last = `version ${v?.gitVersion}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(1_000);
  }
  throw new KubeadmError(
    `[upgrade/apply] FATAL: couldn't upgrade control plane. kubeadm has tried to recover everything into the earlier state. Errors faced: timed out waiting for the condition (last: ${last})`,
  );
}

async function confirm(log: Log): Promise<void> {
  log('[upgrade/confirm] Are you sure you want to proceed? [y/N]: ');
  const answer = await new Promise<string>((resolve) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d) => {
      text += d;
      if (text.includes('\n')) resolve(text);
    });
    process.stdin.on('end', () => resolve(text));
    process.stdin.on('error', () => resolve(''));
  });
  process.stdin.destroy();
  if (!/^[yY]/.test(answer.trim()))
    throw new KubeadmError("won't proceed; the user didn't answer (Y|y) in order to continue");
}

/** `kubeadm upgrade plan [version]`: the current and target versions of every component, nothing changed. */
export async function runUpgradePlan(values: FlagValues, positional: string[], log: Log): Promise<void> {
  const { gitVersion } = kubeVersion();
  const kubeadm = semver(gitVersion) as Semver;
  const view = await readCluster(str(values, 'kubeconfig') ?? ADMIN_CONF, log);
  const target = positional[0] ? targetVersion(positional[0]) : kubeadm;
  log(`[upgrade] Running cluster health checks`);
  log(`[upgrade] Fetching available versions to upgrade to`);
  log(`[upgrade/versions] Cluster version: ${view.version.text}`);
  log(`[upgrade/versions] kubeadm version: ${kubeadm.text}`);
  if (compare(target, view.version) === 0) {
    log('');
    log("Awesome, you're up-to-date! Enjoy!");
    return;
  }
  const errors = upgradeSkewErrors(view.version, kubeadm, target, view.kubelets);
  if (errors.length) fatal(errors);
  const row = (cells: string[]) =>
    cells
      .map((c) => c.padEnd(26))
      .join('')
      .trimEnd();
  log('');
  log(
    "Components that must be upgraded manually after you have upgraded the control plane with 'kubeadm upgrade apply':",
  );
  log(row(['COMPONENT', 'NODE', 'CURRENT', 'TARGET']));
  for (const k of view.kubelets) log(row(['kubelet', k.node, k.version, target.text]));
  log('');
  log(`Upgrade to the latest stable version:`);
  log('');
  log(row(['COMPONENT', 'NODE', 'CURRENT', 'TARGET']));
  for (const c of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy'])
    log(row([c, '', view.version.text, target.text]));
  log('');
  log('You can now apply the upgrade by executing the following command:');
  log('');
  log(`\tkubeadm upgrade apply ${target.text}`);
}

/** `kubeadm upgrade apply [version]` on a control-plane node. */
export async function runUpgradeApply(values: FlagValues, positional: string[], log: Log): Promise<void> {
  const { gitVersion } = kubeVersion();
  const kubeadm = semver(gitVersion) as Semver;
  if (!positional[0] && !str(values, 'config'))
    throw new KubeadmError(
      '[upgrade/version] FATAL: missing one or more required arguments. Required arguments: [version]',
    );
  const target = targetVersion(positional[0] ?? gitVersion);
  log('[preflight] Running pre-flight checks.');
  const view = await readCluster(str(values, 'kubeconfig') ?? ADMIN_CONF, log);
  log('[upgrade] Running cluster health checks');
  log(`[upgrade/version] You have chosen to change the cluster version to "${target.text}"`);
  log(`[upgrade/versions] Cluster version: ${view.version.text}`);
  log(`[upgrade/versions] kubeadm version: ${kubeadm.text}`);
  const errors = upgradeSkewErrors(view.version, kubeadm, target, view.kubelets);
  if (errors.length) fatal(errors);
  if (!bool(values, 'yes') && !bool(values, 'force') && !bool(values, 'dry-run')) await confirm(log);
  const dryRun = bool(values, 'dry-run');
  log(
    `[upgrade/apply] Upgrading your Static Pod-hosted control plane to version "${target.text}" (timeout: 5m0s)...`,
  );
  const etcdUpgrade = values.get('etcd-upgrade') !== false;
  const changed = rewriteManifests(view.clusterDoc, target, etcdUpgrade, dryRun, log);
  if (dryRun) return;
  if (changed.length || compare(target, view.version) !== 0)
    await waitForApiServerVersion(view.client, target, log);
  log(
    '[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace',
  );
  await storeKubeadmConfig(view.client, { ...view.clusterDoc, kubernetesVersion: target.text });
  log(
    '[kubelet] Creating a ConfigMap "kubelet-config" in namespace kube-system with the configuration for the kubelets in the cluster',
  );
  log('');
  log(`[upgrade/successful] SUCCESS! Your cluster was upgraded to "${target.text}". Enjoy!`);
  log('');
  log(
    "[upgrade/kubelet] Now that your control plane is upgraded, please proceed with upgrading your kubelets if you haven't already done so.",
  );
}

/**
 * `kubeadm upgrade node`: a control-plane node gets the manifests of the cluster's version (set by `upgrade
 * apply` before); every node then has its kubelet configuration. A kubeadm newer than the control plane is
 * refused: the control plane is upgraded first.
 */
export async function runUpgradeNode(values: FlagValues, log: Log): Promise<void> {
  const { gitVersion } = kubeVersion();
  const kubeadm = semver(gitVersion) as Semver;
  const controlPlane = existsSync(join(MANIFESTS_DIR, 'kube-apiserver.yaml'));
  const kubeconfig = str(values, 'kubeconfig') ?? (controlPlane ? ADMIN_CONF : KUBELET_CONF);
  const view = await readCluster(kubeconfig, log);
  log('[preflight] Running pre-flight checks');
  if (kubeadm.minor > view.version.minor)
    throw new KubeadmError(
      `[upgrade/node] FATAL: the kubeadm version "${kubeadm.text}" is newer than the control plane version "${view.version.text}": upgrade the control plane first with "kubeadm upgrade apply ${kubeadm.text}" on a control plane node`,
    );
  if (kubeadm.minor < view.version.minor)
    throw new KubeadmError(
      `[upgrade/node] FATAL: the kubeadm version "${kubeadm.text}" is older than the control plane version "${view.version.text}": install the kubeadm of the control plane's version first`,
    );
  const dryRun = bool(values, 'dry-run');
  if (controlPlane) {
    log(
      '[upgrade] Upgrading your Static Pod-hosted control plane instance to version "' +
        view.version.text +
        '"...',
    );
    const changed = rewriteManifests(
      view.clusterDoc,
      view.version,
      values.get('etcd-upgrade') !== false,
      dryRun,
      log,
    );
    if (changed.includes('kube-apiserver') && !dryRun) {
      const local = KubeClient.fromFile(ADMIN_CONF);
      await waitForApiServerVersion(local, view.version, log);
    }
  } else {
    log('[upgrade] Skipping phase. Not a control plane node.');
  }
  log('[upgrade] Reading configuration from the cluster...');
  log('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"');
  log('[upgrade] The configuration for this node was successfully updated!');
  log('[upgrade] Now you should go ahead and upgrade the kubelet package using your package manager.');
}
