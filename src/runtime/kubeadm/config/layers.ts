import type { DistributionDoc } from '../../../clusterfile/documents.js';
import { InputError } from '../../../util/errors.js';
import { isMapping, type Mapping } from '../../../util/mapping.js';
import type { KubeVersion } from '../../kube-version.js';
import {
  kubeadmGroup,
  kubeletApiVersion,
  kubeProxyApiVersion,
  kubernetesVersionText,
  type TargetApi,
} from './api-version.js';
import { convertDocument } from './convert.js';
import { type KubeadmKind, kubeadmKinds } from './fields.js';
import { mergeObjects } from './merge.js';
import { imageConfigFile, imageDocuments, whereIs } from './sources.js';
import { checkComponentDocument, checkKubeadmDocument, documentApi } from './validate.js';

// The three layers of a cluster's kubeadm config, merged kind by kind: berth's defaults, then the image's
// etc/kubeadm.yml, then the Clusterfile's documents, each checked against its own API and converted to the
// cluster's before it is laid on. The fields berth must decide (the version, the endpoint) are set last.

export const configKinds = [...kubeadmKinds, 'KubeletConfiguration', 'KubeProxyConfiguration'] as const;
export type ConfigKind = (typeof configKinds)[number];

/** Where berth uploads the certificates it makes, kubeadm's default. */
const certificatesDir = '/etc/kubernetes/pki';

/** berth's defaults where neither the image nor the Clusterfile says otherwise (sealos' conventions). */
const defaultNetworking = {
  podSubnet: '100.64.0.0/10',
  serviceSubnet: '10.96.0.0/22',
  dnsDomain: 'cluster.local',
};

export interface LayerInput {
  kubeVersion: KubeVersion;
  imageDefaultConfig?: string;
  documents: DistributionDoc[];
  endpoint: { domain: string; port: number };
  vip: string;
  imageRepository?: string;
  /** The cgroup driver of the kubelets, cluster-wide (the first master's). */
  cgroupDriver: string;
}

export interface MergedLayers {
  api: TargetApi;
  /** What was left out or overridden of the documents, one line each. */
  warnings: string[];
  docs: Record<ConfigKind, Mapping>;
  /** `file:line` of the last document that set `path` of `kind`; undefined when only berth did. */
  origin(kind: ConfigKind, path: readonly string[]): string | undefined;
}

interface Layer {
  kind: ConfigKind;
  object: Mapping;
  doc?: DistributionDoc;
}

function getIn(object: unknown, path: readonly string[]): unknown {
  let at = object;
  for (const seg of path) at = isMapping(at) ? at[seg] : undefined;
  return at;
}

function defaults(input: LayerInput, api: TargetApi): Layer[] {
  const apiVersion = `${kubeadmGroup}/${api}`;
  return [
    { kind: 'InitConfiguration', object: { apiVersion, kind: 'InitConfiguration' } },
    {
      kind: 'ClusterConfiguration',
      object: {
        apiVersion,
        kind: 'ClusterConfiguration',
        kubernetesVersion: kubernetesVersionText(input.kubeVersion),
        controlPlaneEndpoint: `${input.endpoint.domain}:${input.endpoint.port}`,
        ...(input.imageRepository ? { imageRepository: input.imageRepository } : {}),
        networking: { ...defaultNetworking },
      },
    },
    { kind: 'JoinConfiguration', object: { apiVersion, kind: 'JoinConfiguration' } },
    { kind: 'KubeletConfiguration', object: { apiVersion: kubeletApiVersion, kind: 'KubeletConfiguration' } },
    {
      kind: 'KubeProxyConfiguration',
      object: {
        apiVersion: kubeProxyApiVersion,
        kind: 'KubeProxyConfiguration',
        mode: 'ipvs',
        ipvs: { excludeCIDRs: [`${input.vip}/32`] },
      },
    },
  ];
}

function documentLayers(doc: DistributionDoc, api: TargetApi, warnings: string[]): Layer[] {
  const kind = doc.kind as ConfigKind;
  if (!(kubeadmKinds as readonly string[]).includes(kind)) {
    return [{ kind, object: checkComponentDocument(doc, warnings), doc }];
  }
  const from = documentApi(doc, api);
  checkKubeadmDocument(doc, from);
  const { doc: converted, controlPlaneTimeout } = convertDocument(doc, from, api);
  const layers: Layer[] = [{ kind, object: converted.object, doc: converted }];
  if (controlPlaneTimeout !== undefined && controlPlaneTimeout !== null) {
    const timeouts = { timeouts: { controlPlaneComponentHealthCheck: controlPlaneTimeout } };
    layers.push(
      { kind: 'InitConfiguration', object: timeouts, doc },
      { kind: 'JoinConfiguration', object: timeouts, doc },
    );
  }
  return layers;
}

/** A Clusterfile may not move what berth decides; the image's value is replaced without a word. */
function berthOwned(layers: Layer[], kind: KubeadmKind, field: string, value: string, hint: string): void {
  for (const l of layers) {
    if (l.kind !== kind || !l.doc || l.doc.file === imageConfigFile) continue;
    const set = l.object[field];
    if (set !== undefined && set !== null && String(set) !== value) {
      throw new InputError(
        `${whereIs(l.doc, [field])}: ${kind} ${field} ${JSON.stringify(set)}: berth sets it to ${value} (${hint}); remove the field`,
      );
    }
  }
}

export function mergeLayers(input: LayerInput, api: TargetApi): MergedLayers {
  const sources = [
    ...imageDocuments(input.imageDefaultConfig),
    ...input.documents.filter((d) => (configKinds as readonly string[]).includes(d.kind)),
  ];
  const warnings: string[] = [];
  const layers = [...defaults(input, api), ...sources.flatMap((d) => documentLayers(d, api, warnings))];
  const version = kubernetesVersionText(input.kubeVersion);
  const endpoint = `${input.endpoint.domain}:${input.endpoint.port}`;
  berthOwned(layers, 'ClusterConfiguration', 'kubernetesVersion', version, "the image's version");
  berthOwned(
    layers,
    'ClusterConfiguration',
    'controlPlaneEndpoint',
    endpoint,
    'the API name every host resolves',
  );
  berthOwned(
    layers,
    'ClusterConfiguration',
    'certificatesDir',
    certificatesDir,
    'where it puts the certificates it makes',
  );
  const docs = Object.fromEntries(
    configKinds.map((kind) => [
      kind,
      layers.filter((l) => l.kind === kind).reduce<Mapping>((acc, l) => mergeObjects(acc, l.object), {}),
    ]),
  ) as Record<ConfigKind, Mapping>;
  docs.ClusterConfiguration.kubernetesVersion = version;
  docs.ClusterConfiguration.controlPlaneEndpoint = endpoint;
  docs.ClusterConfiguration.certificatesDir = certificatesDir;
  for (const l of layers) {
    const set = l.kind === 'KubeletConfiguration' ? l.object.cgroupDriver : undefined;
    if (l.doc && l.doc.file !== imageConfigFile && set !== undefined && set !== input.cgroupDriver) {
      warnings.push(
        `${whereIs(l.doc, ['cgroupDriver'])}: KubeletConfiguration cgroupDriver ${JSON.stringify(set)} is not used: the kubelets use ${input.cgroupDriver}, as the first master's init system and cgroups require`,
      );
    }
  }
  docs.KubeletConfiguration.cgroupDriver = input.cgroupDriver;
  const proxy = docs.KubeProxyConfiguration;
  const ipvs = isMapping(proxy.ipvs) ? proxy.ipvs : {};
  const excluded = Array.isArray(ipvs.excludeCIDRs) ? ipvs.excludeCIDRs : [];
  // The balancer's VIP lives on every node; kube-proxy in IPVS mode would otherwise sweep it away.
  proxy.ipvs = { ...ipvs, excludeCIDRs: [...new Set([...excluded, `${input.vip}/32`])] };
  return {
    api,
    warnings,
    docs,
    origin(kind, path) {
      const last = layers.findLast((l) => l.kind === kind && l.doc && getIn(l.object, path) !== undefined);
      return last?.doc ? whereIs(last.doc, path) : undefined;
    },
  };
}
