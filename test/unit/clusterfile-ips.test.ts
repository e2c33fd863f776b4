// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write ${VAR} references literally
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addressProblem,
  expandAddress,
  expandAddressList,
  parseFieldPath,
  resolveReferences,
  splitAddress,
} from '../../src/clusterfile/index.js';

test('addresses, ports and ranges expand as sealos writes them', () => {
  assert.deepEqual(expandAddress('10.0.0.2'), ['10.0.0.2']);
  assert.deepEqual(expandAddress('10.0.0.2:2222'), ['10.0.0.2:2222']);
  assert.deepEqual(expandAddress('10.0.0.254-10.0.1.1'), [
    '10.0.0.254',
    '10.0.0.255',
    '10.0.1.0',
    '10.0.1.1',
  ]);
  assert.deepEqual(expandAddress('10.0.0.2-10.0.0.3:2200'), ['10.0.0.2:2200', '10.0.0.3:2200']);
  assert.deepEqual(expandAddressList('10.0.0.2, 10.0.0.5-10.0.0.6,'), ['10.0.0.2', '10.0.0.5', '10.0.0.6']);
  assert.deepEqual(splitAddress('[fd00::2]:2222'), { ip: 'fd00::2', port: 2222 });
  assert.deepEqual(splitAddress('fd00::2'), { ip: 'fd00::2' });
  assert.deepEqual(splitAddress('127.0.0.1'), { ip: '127.0.0.1' });
});

test('bad addresses say what is wrong', () => {
  assert.equal(addressProblem('10.0.0.256'), '"10.0.0.256" is not an IP address');
  assert.equal(addressProblem('host.example'), '"host.example" is not an IP address');
  assert.equal(addressProblem('10.0.0.2:70000'), '"10.0.0.2:70000" has port 70000, outside 1-65535');
  assert.equal(addressProblem('10.0.0.2:ssh'), '"10.0.0.2:ssh" has an invalid port "ssh"');
  assert.equal(addressProblem('10.0.0.5-10.0.0.2'), 'range "10.0.0.5-10.0.0.2" ends before it starts');
  assert.equal(addressProblem('10.0.0.0-10.1.0.0'), 'range "10.0.0.0-10.1.0.0" has more than 4096 addresses');
  assert.equal(
    addressProblem('10.0.0.2-5'),
    '"10.0.0.2-5" is not an IP address or an IPv4 range like 10.0.0.2-10.0.0.9',
  );
  assert.equal(addressProblem('10.0.0.7'), undefined);
});

test('--set field paths and ${VAR} references', () => {
  assert.deepEqual(parseFieldPath('spec.hosts[0].ips[1]'), ['spec', 'hosts', 0, 'ips', 1]);
  assert.deepEqual(parseFieldPath('spec.ssh.pkPasswd'), ['spec', 'ssh', 'pkPasswd']);
  for (const bad of ['', 'spec.', '.spec', 'spec[0]x', 'spec..a', '[0]', 'spec[a]']) {
    assert.throws(() => parseFieldPath(bad), /not a field path/, bad);
  }
  assert.equal(resolveReferences('a-${T_X}-$T_X-$(T_X)', { T_X: 'v' }), 'a-v-$T_X-$(T_X)');
  assert.throws(() => resolveReferences('${T_NOPE}', {}), { message: /^\$\{T_NOPE\} is not set/ });
});
