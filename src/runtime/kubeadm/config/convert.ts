import type { DistributionDoc } from '../../../clusterfile/documents.js';
import { InputError } from '../../../util/errors.js';
import { isMapping, type Mapping } from '../../../util/mapping.js';
import { type KubeadmApi, kubeadmGroup, type TargetApi } from './api-version.js';
import { whereIs } from './sources.js';

// Brings a kubeadm document written for an older config API to the one the cluster's kubeadm reads, as
// kubeadm's own conversions do: v1beta2 -> v1beta3 drops what 1.22 removed (dns.type, useHyperKubeImage);
// v1beta3 -> v1beta4 turns every extraArgs mapping into a list of {name, value} and moves the timeouts
// into the `timeouts` block (apiServer.timeoutForControlPlane, discovery.timeout).

export interface Converted {
  doc: DistributionDoc;
  /** A v1beta3 apiServer.timeoutForControlPlane: v1beta4 keeps it in Init/JoinConfiguration.timeouts. */
  controlPlaneTimeout?: unknown;
}

/** A v1beta3 `{flag: value}` mapping as v1beta4's `[{name, value}]`, in the order written. */
export function argsList(args: unknown): Array<{ name: string; value: string }> {
  if (!isMapping(args)) return [];
  return Object.entries(args).map(([name, value]) => ({ name, value: value === null ? '' : String(value) }));
}

function convertArgs(holder: unknown, key: string): void {
  if (isMapping(holder) && isMapping(holder[key])) holder[key] = argsList(holder[key]);
}

function toV1beta3(doc: DistributionDoc, object: Mapping): void {
  if (doc.kind !== 'ClusterConfiguration') return;
  const dns = object.dns;
  if (isMapping(dns) && 'type' in dns) {
    if (dns.type !== 'CoreDNS' && dns.type !== null && dns.type !== undefined) {
      throw new InputError(
        `${whereIs(doc, ['dns', 'type'])}: ClusterConfiguration dns.type ${JSON.stringify(dns.type)}: kubeadm 1.22+ deploys CoreDNS only; remove dns.type`,
      );
    }
    delete dns.type;
    if (Object.keys(dns).length === 0) delete object.dns;
  }
  if ('useHyperKubeImage' in object) {
    if (object.useHyperKubeImage === true) {
      throw new InputError(
        `${whereIs(doc, ['useHyperKubeImage'])}: ClusterConfiguration useHyperKubeImage: kubeadm 1.22+ has no hyperkube image; remove the field`,
      );
    }
    delete object.useHyperKubeImage;
  }
}

function toV1beta4(doc: DistributionDoc, object: Mapping): unknown {
  if (doc.kind === 'ClusterConfiguration') {
    for (const component of ['apiServer', 'controllerManager', 'scheduler'])
      convertArgs(object[component], 'extraArgs');
    if (isMapping(object.etcd)) convertArgs(object.etcd.local, 'extraArgs');
    const apiServer = object.apiServer;
    if (isMapping(apiServer) && 'timeoutForControlPlane' in apiServer) {
      const timeout = apiServer.timeoutForControlPlane;
      delete apiServer.timeoutForControlPlane;
      return timeout;
    }
    return undefined;
  }
  convertArgs(object.nodeRegistration, 'kubeletExtraArgs');
  const discovery = object.discovery;
  if (doc.kind === 'JoinConfiguration' && isMapping(discovery) && 'timeout' in discovery) {
    const timeouts = isMapping(object.timeouts) ? object.timeouts : {};
    if (discovery.timeout !== null && discovery.timeout !== undefined)
      timeouts.discovery = timeouts.discovery ?? discovery.timeout;
    delete discovery.timeout;
    object.timeouts = timeouts;
  }
  return undefined;
}

function argsAsStrings(holder: unknown, key: string): void {
  if (!isMapping(holder)) return;
  const args = holder[key];
  if (isMapping(args))
    for (const name of Object.keys(args)) args[name] = args[name] === null ? '' : String(args[name]);
  if (Array.isArray(args))
    for (const arg of args)
      if (isMapping(arg) && arg.value !== undefined) arg.value = String(arg.value ?? '');
}

/**
 * Flag values as the strings kubeadm's types hold: YAML reads `max-pods: 110` as a number, which kubeadm's
 * strict decoding would refuse.
 */
function stringArgs(object: Mapping): void {
  for (const component of ['apiServer', 'controllerManager', 'scheduler'])
    argsAsStrings(object[component], 'extraArgs');
  if (isMapping(object.etcd)) argsAsStrings(object.etcd.local, 'extraArgs');
  argsAsStrings(object.nodeRegistration, 'kubeletExtraArgs');
}

/** `doc`, declared in `from`, as a document of `to`; the input is left as it was. */
export function convertDocument(doc: DistributionDoc, from: KubeadmApi, to: TargetApi): Converted {
  const object = structuredClone(doc.object);
  stringArgs(object);
  if (from === to) return { doc: { ...doc, object } };
  if (from === 'v1beta2') toV1beta3(doc, object);
  const controlPlaneTimeout = to === 'v1beta4' ? toV1beta4(doc, object) : undefined;
  const apiVersion = `${kubeadmGroup}/${to}`;
  object.apiVersion = apiVersion;
  return { doc: { ...doc, apiVersion, object }, controlPlaneTimeout };
}
