// On systemd hosts a cluster image's hook scripts run as they would on a server: a patch image's init
// hook writes a unit, `systemctl enable --now`s it and reads it back with journalctl, unchanged, through
// `berth run`; berth's own services (k3s server and agent, registry, node balancer) are systemd units
// with journals; reset leaves no unit, no enabled link and no cgroup behind.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { balancerServiceName } from '../../src/host/balancer.js';
import { buildImage } from '../../src/image/build.js';
import {
  assertHostAsBefore,
  berthOk,
  type HostSnapshot,
  imageRef,
  mustSsh,
  runArgs,
  setupCluster,
  snapshotHost,
} from '../helpers/cluster-e2e.js';
import { testInit } from '../helpers/sandbox.js';

const cluster = 't-cl-sd';
const probeRef = 'example/probe:v1';

const initHook = `#!/bin/sh
set -e
cat > /etc/systemd/system/berth-probe.service <<'UNIT'
[Unit]
Description=probe started by a hook
[Service]
ExecStart=/bin/sh -c 'echo probe up on $(hostname); exec sleep infinity'
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now berth-probe.service
for i in $(seq 50); do journalctl -u berth-probe -o cat --no-pager | grep -q 'probe up' && break; sleep 0.1; done
journalctl -u berth-probe -o cat --no-pager | grep 'probe up'
`;

const cleanHook = `#!/bin/sh
systemctl disable --now berth-probe.service 2>/dev/null || :
rm -f /etc/systemd/system/berth-probe.service
systemctl daemon-reload
`;

test('systemd hosts: hook scripts use systemctl and journalctl unchanged, services are units, reset leaves none', {
  skip: testInit === 'sshd' && 'hosts run sshd as PID 1',
}, async (t) => {
  const setup = await setupCluster(t, { sandbox: cluster, hosts: 2, init: 'systemd' });
  const { sb, home } = setup;
  const [master, node] = sb.hosts as [(typeof sb.hosts)[0], (typeof sb.hosts)[0]];
  const ctx = join(home, 'probe-image');
  mkdirSync(join(ctx, 'scripts'), { recursive: true });
  writeFileSync(join(ctx, 'scripts', 'probe-init.sh'), initHook);
  writeFileSync(join(ctx, 'scripts', 'probe-clean.sh'), cleanHook);
  chmodSync(join(ctx, 'scripts', 'probe-init.sh'), 0o755);
  chmodSync(join(ctx, 'scripts', 'probe-clean.sh'), 0o755);
  writeFileSync(
    join(ctx, 'Kubefile'),
    'FROM scratch\nCOPY scripts scripts\nLABEL sealos.io.type="patch" init="probe-init.sh" clean="probe-clean.sh"\n',
  );
  await buildImage({ contextDir: ctx, tags: [probeRef] });

  const before = new Map<string, HostSnapshot>(sb.hosts.map((h) => [h.ip, snapshotHost(setup, h)]));
  setup.resetOnCleanup(cluster);
  await berthOk(runArgs(setup.sb.name, cluster, { masters: 1, nodes: 1 }, [imageRef, probeRef]));

  for (const h of sb.hosts) {
    const probe = mustSsh(
      setup,
      h,
      'systemctl is-enabled berth-probe; systemctl is-active berth-probe; journalctl -u berth-probe -o cat --no-pager | grep "probe up"',
    );
    assert.equal(probe.trim(), `enabled\nactive\nprobe up on ${h.name}`);
  }
  const masterUnits = mustSsh(setup, master, 'systemctl is-active k3s berth-registry');
  assert.equal(masterUnits.trim(), 'active\nactive');
  const nodeUnits = mustSsh(setup, node, `systemctl is-active k3s-agent ${balancerServiceName}`);
  assert.equal(nodeUnits.trim(), 'active\nactive');
  // journalctl -u shows each service's own log lines, under its own name
  assert.match(
    mustSsh(setup, master, 'journalctl -u k3s --no-pager'),
    / k3s\[\d+\]: .*k3s is up and running/,
  );
  assert.match(mustSsh(setup, node, 'journalctl -u k3s-agent --no-pager'), / k3s-agent\[\d+\]: /);

  await berthOk(['reset', '--cluster', cluster]);
  for (const h of sb.hosts) await assertHostAsBefore(setup, h, before.get(h.ip) as HostSnapshot);
});
