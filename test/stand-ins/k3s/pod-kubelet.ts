// The kubelet's image work for pods bound to this node: each container image is pulled through the node's CRI
// (so containerd's registry mirrors and the cluster registry serve it), unless imagePullPolicy allows one that
// is present; then the pod is reported Running and Ready with the images' digests as imageID. A failed pull
// leaves the pod Pending in ErrImagePull with containerd's message, tried again a few seconds later. No
// container is started: the status is what kwok-style pods get (see kube-api/controllers/pod-scheduler.ts).
import { pullFailedStatus, runningStatus } from '../kube-api/controllers/pod-scheduler.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { criImageDigest, criImageStatus, criPullImage } from './cri-client.js';
import { klog } from './standin-log.js';

const SYNC_MS = 1_000;
const RETRY_MS = 5_000;

/** How the kubelet reaches the API: in process on a server, over HTTPS on an agent. */
export interface PodAccess {
  /** The pods bound to this node. */
  pods(): Promise<KubeObject[]>;
  node(): Promise<KubeObject | undefined>;
  writeStatus(pod: KubeObject, status: KubeObject): Promise<void>;
}

export class PodKubelet {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private readonly retryAt = new Map<string, number>();

  constructor(
    private readonly socket: string,
    private readonly access: PodAccess,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sync(), SYNC_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async sync(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const [pods, node] = await Promise.all([this.access.pods(), this.access.node()]);
      if (!node) return;
      for (const pod of pods) {
        if (pod.metadata.deletionTimestamp || pod.status?.phase !== 'Pending') continue;
        if ((this.retryAt.get(pod.metadata.uid) ?? 0) > Date.now()) continue;
        await this.startPod(pod, node, pods);
      }
    } catch (e) {
      klog.debug(`pod sync: ${(e as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  private async pull(container: KubeObject): Promise<string> {
    const present =
      container.imagePullPolicy !== 'Always' && (await criImageStatus(this.socket, container.image));
    if (!present) {
      klog.info(`Pulling image "${container.image}"`);
      await criPullImage(this.socket, container.image);
    }
    return criImageDigest(this.socket, container.image);
  }

  private async startPod(pod: KubeObject, node: KubeObject, pods: KubeObject[]): Promise<void> {
    const imageIds: Record<string, string> = {};
    const containers: KubeObject[] = [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])];
    for (const c of containers) {
      try {
        imageIds[c.name] = await this.pull(c);
      } catch (e) {
        const message = `failed to pull and unpack image "${c.image}": ${(e as Error).message}`;
        klog.error(`Error syncing pod ${pod.metadata.namespace}/${pod.metadata.name}: ${message}`);
        this.retryAt.set(pod.metadata.uid, Date.now() + RETRY_MS);
        await this.access.writeStatus(pod, pullFailedStatus(pod, c.name, message));
        return;
      }
    }
    this.retryAt.delete(pod.metadata.uid);
    await this.access.writeStatus(pod, runningStatus(pod, node, pods, imageIds));
  }
}
