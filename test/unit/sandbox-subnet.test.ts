import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRate, tbfArgs } from '../../src/sandbox/rate.js';
import {
  checkSubnetSize,
  formatCidr,
  gatewayAddress,
  hostAddress,
  overlaps,
  parseCidr,
} from '../../src/sandbox/subnet.js';
import { UsageError } from '../../src/util/errors.js';

test('a CIDR is normalised to its network address', () => {
  assert.equal(formatCidr(parseCidr('10.77.3.9/24') as never), '10.77.3.0/24');
  assert.equal(parseCidr('10.77.3.0'), undefined);
  assert.equal(parseCidr('10.300.0.0/24'), undefined);
});

test('gateway takes .1 and host i takes .i+1', () => {
  const c = parseCidr('10.77.3.0/24');
  assert.ok(c);
  assert.equal(gatewayAddress(c), '10.77.3.1');
  assert.equal(hostAddress(c, 1), '10.77.3.2');
  assert.equal(hostAddress(c, 20), '10.77.3.21');
  assert.equal(hostAddress(parseCidr('10.8.0.0/16') as never, 300), '10.8.1.45');
});

test('overlap is containment either way', () => {
  const p = (s: string) => parseCidr(s) as NonNullable<ReturnType<typeof parseCidr>>;
  assert.equal(overlaps(p('10.0.0.0/8'), p('10.210.4.0/24')), true);
  assert.equal(overlaps(p('10.210.4.0/24'), p('10.210.4.7/32')), true);
  assert.equal(overlaps(p('10.210.4.0/24'), p('10.210.5.0/24')), false);
});

test('--subnet must be /8../24 and hold the hosts', () => {
  assert.throws(() => checkSubnetSize('10.1.2.0/25', 3), UsageError);
  assert.throws(() => checkSubnetSize('nonsense', 3), /not an IPv4 CIDR/);
  assert.throws(() => checkSubnetSize('10.1.2.0/24', 254), /too small for 254 hosts/);
  assert.equal(checkSubnetSize('10.1.0.0/16', 254).prefix, 16);
});

test('--bandwidth takes tc bit rates and sizes the bucket at 10 ms', () => {
  assert.equal(parseRate('50mbit'), 6_250_000);
  assert.throws(() => parseRate('50MB'), /--bandwidth 50MB/);
  assert.deepEqual(tbfArgs('50mbit'), ['tbf', 'rate', '50mbit', 'burst', '62500', 'latency', '100ms']);
  assert.equal(tbfArgs('1mbit')[4], String(16 * 1514));
});
