// While an apply that removes hosts is under way (or after it failed), the recorded Clusterfile still
// names the departing hosts, so a run killed before they were reset removes them next time; once the
// apply succeeds they are gone from it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recordedCluster } from '../../src/apply/apply-cluster.js';
import { clusterFromRunArgs, type LoadedClusterfile, resolveHosts } from '../../src/clusterfile/index.js';

const loaded = (nodes: string): LoadedClusterfile => ({
  file: 'Clusterfile',
  cluster: clusterFromRunArgs({ images: ['x/y:1'], masters: '10.0.0.1', nodes, cluster: 'c', password: 'p' }),
  configs: [],
  distributionDocs: [],
});

test('departing hosts stay recorded until the apply that removes them succeeds', () => {
  const previous = loaded('10.0.0.2,10.0.0.3');
  const next = loaded('10.0.0.2');
  const departed = resolveHosts(previous.cluster).filter((h) => h.ip === '10.0.0.3');
  const ips = (phase: 'ClusterInProcess' | 'ClusterFailed' | 'ClusterSuccess') =>
    resolveHosts(recordedCluster({ loaded: next, departed }, previous, phase))
      .map((h) => `${h.ip} ${h.roles.join(',')}`)
      .sort();
  assert.deepEqual(ips('ClusterInProcess'), ['10.0.0.1 master', '10.0.0.2 node', '10.0.0.3 node']);
  assert.deepEqual(ips('ClusterFailed'), ['10.0.0.1 master', '10.0.0.2 node', '10.0.0.3 node']);
  assert.deepEqual(ips('ClusterSuccess'), ['10.0.0.1 master', '10.0.0.2 node']);
  assert.equal(recordedCluster({ loaded: next, departed: [] }, previous, 'ClusterInProcess'), next.cluster);
});
