// A distribution driver for engine tests: its prepare makes a secret once, its init step prints a fresh
// join token as a step output, and each node's join step writes that token into the node's files. Every
// "host" is a directory under a root on this machine (see localRunner).
import { randomBytes } from 'node:crypto';
import { runPhases } from '../../src/apply/engine.js';
import { Journal } from '../../src/apply/journal.js';
import { initFirstMaster, joinNodes } from '../../src/apply/phases/distribution.js';
import { type PlannedCluster, prepareDriver } from '../../src/apply/planned-cluster.js';
import { clusterPaths } from '../../src/apply/state.js';
import type { ResolvedHost } from '../../src/clusterfile/index.js';
import { stepOutput } from '../../src/runtime/step-output.js';
import type { PrepareContext, Runtime } from '../../src/runtime/types.js';
import { shellQuote } from '../../src/util/shell.js';
import { localRunner } from './run-local.js';

export interface FakeState {
  secret: string;
}

export const master = '10.0.0.1';

export function fakeRuntime(root: string): Runtime<FakeState> {
  const dir = (file: string) => `${shellQuote(root)}/"$BERTH_HOST"/${file}`;
  return {
    name: 'fake',
    defaults: { configFiles: [], configKinds: [], resetPaths: [], certificateDirs: [] },
    async prepare(_ctx, previous) {
      return previous ?? { secret: randomBytes(12).toString('hex') };
    },
    init: (ctx) => [
      {
        host: master,
        id: 'init',
        description: 'start the fake server',
        commands: [`mkdir -p ${dir('')} && echo ${shellQuote(ctx.state.secret)} > ${dir('secret')}`],
        outputs: { joinToken: 'echo "token-$(od -An -N8 -tx1 /dev/urandom | tr -d \' \\n\')"' },
        inputs: { secret: ctx.state.secret },
      },
    ],
    joinNodes: (_ctx, hosts) =>
      hosts.map((h) => ({
        host: h.ip,
        id: 'join',
        description: `join ${h.ip}`,
        commands: [
          `mkdir -p ${dir('')} && printf %s ${shellQuote(stepOutput(master, 'init', 'joinToken'))} > ${dir('token')}`,
        ],
        // the token is fresh on every init; what identifies a join is the server it joins
        inputs: { server: master },
      })),
    joinMasters: () => [],
    deleteMasters: () => [],
    deleteNodes: () => [],
    reset: () => ({ description: 'nothing' }),
    kubeconfig: () => ({ remotePath: '/kubeconfig', rewrite: (t) => t }),
    nodeBalancingSync: () => ({ description: 'nothing' }),
  };
}

const host = (ip: string, role: 'master' | 'node'): ResolvedHost => ({
  ip,
  port: 22,
  roles: [role],
  env: {},
  ssh: { user: 'root' },
});

/** One apply of the fake cluster `name` with these nodes; returns the hosts a step ran on. */
export async function applyFake(root: string, name: string, nodeIps: string[]): Promise<string[]> {
  const runtime = fakeRuntime(root) as Runtime;
  const nodes = nodeIps.map((ip) => host(ip, 'node'));
  const base: PrepareContext = {
    clusterName: name,
    rootfsDir: '/rootfs',
    env: {},
    masters: [{ ip: master, roles: ['master'] }],
    nodes: nodes.map((n) => ({ ip: n.ip, roles: n.roles })),
    registry: { domain: 'r', port: 5000, hostIp: master, username: 'u', password: 'p' },
    vip: '10.103.97.2',
    apiServerDomain: 'apiserver.cluster.local',
    apiPort: 6443,
    distributionConfig: [],
  };
  const runtimeCtx = await prepareDriver(runtime, base);
  const cluster = {
    name,
    runtime,
    runtimeCtx,
    masters: [host(master, 'master')],
    nodes,
    facts: new Map(),
  } as unknown as PlannedCluster;
  const ran: string[] = [];
  const journal = await Journal.open(clusterPaths(name).journal);
  await runPhases([initFirstMaster, joinNodes], cluster, {
    journal,
    runner: localRunner(root, ran),
    options: {},
  });
  return ran;
}
