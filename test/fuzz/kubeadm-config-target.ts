// Property-test target for the kubeadm documents users and images write: a sealos-style etc/kubeadm.yml
// and Clusterfile kubeadm documents, mutated or assembled from real and wrong fields, for every config API
// berth renders. Whatever is accepted must render documents that parse and that the API accepts.
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import { parseKubeVersion } from '../../src/runtime/kube-version.js';
import { kubeadmConfig } from '../../src/runtime/kubeadm/config/index.js';
import { checkKubeadmDocument } from '../../src/runtime/kubeadm/config/validate.js';
import { clusterfileDocs, masters, nodes, sealosImageConfig } from '../helpers/kubeadm-config-input.js';
import type { FuzzTarget } from './property.js';
import { mutationsOf } from './text-targets.js';

const invalidInput = 3;

const clusterfileDocuments = `apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
networking:
  podSubnet: 172.16.0.0/16
apiServer:
  certSANs: [api.example.com]
  extraArgs: { audit-log-maxage: 30 }
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
nodeRegistration:
  kubeletExtraArgs:
    - { name: max-pods, value: "90" }
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
maxPods: 100
`;

const anyValue = fc.oneof(
  fc.constantFrom('10.96.0.0/22', '100.64.0.0/10', '10.0.0.0/8', 'x', '', '5m0s', 'CoreDNS'),
  fc.jsonValue({ maxDepth: 2 }),
);

const assembled = fc
  .array(
    fc.record(
      {
        apiVersion: fc.constantFrom(
          'kubeadm.k8s.io/v1beta2',
          'kubeadm.k8s.io/v1beta3',
          'kubeadm.k8s.io/v1beta4',
          'kubeadm.k8s.io/v1',
          'kubelet.config.k8s.io/v1beta1',
          'kubeproxy.config.k8s.io/v1alpha1',
        ),
        kind: fc.constantFrom(
          'InitConfiguration',
          'ClusterConfiguration',
          'JoinConfiguration',
          'KubeletConfiguration',
          'KubeProxyConfiguration',
        ),
        networking: fc.dictionary(
          fc.constantFrom('podSubnet', 'serviceSubnet', 'dnsDomain', 'podCIDR'),
          anyValue,
        ),
        apiServer: fc.dictionary(
          fc.constantFrom('extraArgs', 'certSANs', 'timeoutForControlPlane', 'extraVolumes'),
          anyValue,
        ),
        nodeRegistration: fc.dictionary(fc.constantFrom('kubeletExtraArgs', 'criSocket', 'taints'), anyValue),
        discovery: fc.dictionary(fc.constantFrom('timeout', 'bootstrapToken', 'file'), anyValue),
        dns: fc.dictionary(fc.constantFrom('type', 'imageTag'), anyValue),
        useHyperKubeImage: fc.boolean(),
        maxPods: fc.integer(),
        mode: fc.constantFrom('ipvs', 'iptables'),
      },
      { requiredKeys: ['apiVersion', 'kind'] },
    ),
    { maxLength: 4 },
  )
  .map((docs) => docs.map((d) => stringify(d)).join('---\n'));

const inputs = fc.record({
  version: fc.constantFrom('v1.21.14', 'v1.22.0', 'v1.27.7', 'v1.30.2', 'v1.31.0', 'v1.33.1'),
  image: fc.oneof(mutationsOf(sealosImageConfig), assembled, fc.constant('')),
  clusterfile: fc.oneof(mutationsOf(clusterfileDocuments), assembled, fc.constant('')),
});

/** A rendered document the API would refuse is a bug of the renderer, not a refusal of the input. */
function checkRendered(text: string, api: 'v1beta3' | 'v1beta4'): void {
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]}`);
    const object = doc.toJS() as Record<string, unknown>;
    const kind = String(object.kind);
    if (!['InitConfiguration', 'ClusterConfiguration', 'JoinConfiguration'].includes(kind)) continue;
    try {
      checkKubeadmDocument(
        {
          kind,
          apiVersion: String(object.apiVersion),
          distribution: 'kubeadm',
          object,
          file: 'rendered',
          line: 1,
        },
        api,
      );
    } catch (err) {
      throw new Error(`rendered ${kind} is not valid ${api}: ${(err as Error).message}`);
    }
  }
}

export const kubeadmConfigTarget: FuzzTarget<{ version: string; image: string; clusterfile: string }> = {
  name: 'kubeadm config',
  inputs,
  codes: [invalidInput],
  run({ version, image, clusterfile }) {
    const config = kubeadmConfig({
      kubeVersion: parseKubeVersion(version),
      imageDefaultConfig: image,
      documents: clusterfileDocs(clusterfile),
      endpoint: { domain: 'apiserver.cluster.local', port: 6443 },
      vip: '10.103.97.2',
      masters,
      nodes,
      imageRepository: 'sealos.hub:5000',
    });
    const api = config.apiVersion === 'kubeadm.k8s.io/v1beta4' ? 'v1beta4' : 'v1beta3';
    checkRendered(config.initConfig(masters[0]!, 'abcdef.0123456789abcdef'), api);
    const join = {
      token: 'abcdef.0123456789abcdef',
      caCertHash: 'sha256:00',
      apiServerEndpoint: '10.0.0.1:6443',
    };
    checkRendered(config.joinConfig(masters[1]!, { ...join, controlPlane: true, certificateKey: 'k' }), api);
    checkRendered(config.joinConfig(nodes[0]!, { ...join, controlPlane: false }), api);
  },
};
