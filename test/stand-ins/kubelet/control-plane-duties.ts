// What the kube-controller-manager and kube-scheduler static pods stand for here. Their images cannot run on
// a sandbox host, and the workload controller and pod scheduler run inside the API server stand-in, so the
// kubelet serves their health endpoints itself and does the controller-manager's kubeadm-related work with
// its --kubeconfig: the bootstrap signer (cluster-info JWS per token), the token cleaner (expired token
// Secrets deleted), and approving and signing kubelet client CSRs with --cluster-signing-cert/key-file.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { newCa, signCsr } from '../k3s/openssl-pki.js';
import { isExpired, signedClusterInfoData, tokenFromSecret } from '../kube-api/bootstrap-tokens.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { sameJson } from '../kube-api/kube-object.js';
import { CLUSTER_INFO, SECRETS } from '../kubeadm/cluster-objects.js';
import { KubeClient } from '../kubeadm/kubeconfig.js';

const flagOf = (command: string[], name: string) =>
  command.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

/** An HTTPS /healthz on the component's port, with a self-signed certificate as the real ones make. */
export async function healthEndpoint(cn: string, host: string, port: number): Promise<Server> {
  const pair = await newCa(`${cn}@${Math.floor(Date.now() / 1000)}`);
  const server = createServer({ key: pair.key, cert: pair.cert }, (req, res) => {
    const ok = ['/healthz', '/livez', '/readyz'].includes(new URL(req.url ?? '/', 'https://x').pathname);
    res.writeHead(ok ? 200 : 404, { 'Content-Type': 'text/plain' });
    res.end(ok ? 'ok' : 'not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

const CSR_PATH = '/apis/certificates.k8s.io/v1/certificatesigningrequests';

export class ControllerManagerDuties {
  private readonly client: KubeClient;
  private readonly ca: { cert: string; key: string };
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    command: string[],
    private readonly log: (l: string) => void,
  ) {
    this.client = KubeClient.fromFile(
      flagOf(command, 'kubeconfig') ?? '/etc/kubernetes/controller-manager.conf',
    );
    this.ca = {
      cert: readFileSync(
        flagOf(command, 'cluster-signing-cert-file') ?? '/etc/kubernetes/pki/ca.crt',
        'utf8',
      ),
      key: readFileSync(flagOf(command, 'cluster-signing-key-file') ?? '/etc/kubernetes/pki/ca.key', 'utf8'),
    };
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), 1_000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const secrets: KubeObject[] = (await this.client.get(SECRETS))?.items ?? [];
      for (const s of secrets) {
        const t = tokenFromSecret(s);
        if (t && isExpired(t)) {
          this.log(`Deleting expired bootstrap token secret kube-system/${s.metadata.name}`);
          await this.client.delete(`${SECRETS}/${s.metadata.name}`);
        }
      }
      const info = await this.client.get(CLUSTER_INFO);
      if (info?.data?.kubeconfig) {
        const data = signedClusterInfoData(info.data.kubeconfig, secrets);
        if (!sameJson(data, info.data)) await this.client.call('PUT', CLUSTER_INFO, { ...info, data });
      }
      await this.signCsrs();
    } catch (e) {
      this.log(`controller-manager duties: ${(e as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  /** The csrapproving and csrsigning controllers for kubelet client certificates. */
  private async signCsrs(): Promise<void> {
    const csrs: KubeObject[] = (await this.client.get(CSR_PATH))?.items ?? [];
    for (const csr of csrs) {
      if (csr.status?.certificate || csr.spec?.signerName !== 'kubernetes.io/kube-apiserver-client-kubelet')
        continue;
      const pem = Buffer.from(String(csr.spec.request ?? ''), 'base64').toString('utf8');
      const cert = await signCsr(this.ca, pem);
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      const status = {
        conditions: [
          {
            type: 'Approved',
            status: 'True',
            reason: 'AutoApproved',
            message: 'Auto approving kubelet client certificate after SubjectAccessReview.',
            lastUpdateTime: now,
            lastTransitionTime: now,
          },
        ],
        certificate: Buffer.from(cert).toString('base64'),
      };
      await this.client.call('PUT', `${CSR_PATH}/${csr.metadata.name}/status`, { ...csr, status });
      this.log(`Signed kubelet client certificate for CSR ${csr.metadata.name}`);
    }
  }
}
