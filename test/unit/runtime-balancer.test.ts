import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  balancerConf,
  balancerPaths,
  balancerScript,
  installBalancer,
  resetBalancer,
} from '../../src/host/balancer.js';
import { sh, shSyntax } from '../helpers/run-local.js';

test('balancer rules spread connections evenly with nth matches over the healthy masters', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-lb-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'apiserver-lb');
  writeFileSync(script, balancerScript());
  assert.equal(
    sh(`sh ${script} --rules 6443 10.0.0.1 10.0.0.2 10.0.0.3`),
    [
      '*nat',
      ':BERTH-APISERVER - [0:0]',
      '-A BERTH-APISERVER -p tcp -m statistic --mode nth --every 3 --packet 0 -j DNAT --to-destination 10.0.0.1:6443',
      '-A BERTH-APISERVER -p tcp -m statistic --mode nth --every 2 --packet 0 -j DNAT --to-destination 10.0.0.2:6443',
      '-A BERTH-APISERVER -p tcp -j DNAT --to-destination 10.0.0.3:6443',
      'COMMIT',
      '',
    ].join('\n'),
  );
  assert.match(
    sh(`sh ${script} --rules 6443 10.0.0.9`),
    /^-A BERTH-APISERVER -p tcp -j DNAT --to-destination 10.0.0.9:6443$/m,
  );
  sh(`sh -n ${script}`);
});

test('balancer conf, install and reset actions', () => {
  const c = { vip: '10.103.97.2', port: 6443, nodeIp: '10.0.0.5', masters: ['10.0.0.1', '10.0.0.2'] };
  assert.equal(
    balancerConf(c),
    '# node-local API balancer (written by berth; rewritten when masters change)\nvip 10.103.97.2\nport 6443\nnode-ip 10.0.0.5\nmaster 10.0.0.1\nmaster 10.0.0.2\n',
  );
  assert.throws(() => balancerConf({ ...c, masters: [] }), /at least one master/);
  assert.throws(() => balancerConf({ ...c, vip: '10.0.0.1; reboot' }), /not an IPv4 address/);
  const install = installBalancer(c);
  const paths = (install.files ?? []).map((f) => f.path);
  assert.ok(paths.includes(balancerPaths().conf) && paths.includes(balancerPaths().script));
  assert.ok(paths.includes('/etc/berth/services/berth-apiserver-lb.run.new'));
  const reset = (resetBalancer('10.103.97.2').commands ?? []).join('\n');
  assert.match(reset, /iptables -w -t nat -X BERTH-APISERVER/);
  assert.match(reset, /ip route del "\$v\/32"/);
  assert.match(reset, /rm -f \/usr\/local\/lib\/berth\/apiserver-lb \/etc\/berth\/apiserver-lb.conf/);
  for (const cmd of [...(install.commands ?? []), ...(resetBalancer('10.103.97.2').commands ?? [])]) {
    shSyntax(cmd);
  }
});
