import { writeFile } from 'node:fs/promises';
import { EnvironmentError } from '../util/errors.js';
import { exists } from '../util/local-files.js';
import { tbfArgs } from './rate.js';
import { mustRun, runProgram } from './run.js';

export const netnsDir = '/run/netns';

export async function linkExists(dev: string): Promise<boolean> {
  return (await runProgram('ip', ['link', 'show', 'dev', dev])).code === 0;
}

export async function netnsExists(netns: string): Promise<boolean> {
  return exists(`${netnsDir}/${netns}`);
}

/**
 * The sandbox's switch: a bridge holding the gateway address. Forwarding is off for packets arriving
 * from it, so hosts reach each other and this machine but nothing beyond. With a rate, what this
 * machine sends into the bridge is capped too, like the uplink of a real deploy machine.
 */
export async function createBridge(bridge: string, gatewayCidr: string, rate?: string): Promise<void> {
  const what = `creating bridge ${bridge}`;
  await mustRun(what, 'ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
  await writeFile(`/proc/sys/net/ipv4/conf/${bridge}/forwarding`, '0');
  await mustRun(what, 'ip', ['addr', 'add', gatewayCidr, 'dev', bridge]);
  await mustRun(what, 'ip', ['link', 'set', 'dev', bridge, 'up']);
  if (rate) await mustRun(what, 'tc', ['qdisc', 'add', 'dev', bridge, 'root', ...tbfArgs(rate)]);
}

export interface HostLink {
  netns: string;
  veth: string;
}

/**
 * Each host's network namespace and its veth pair: `eth0` inside, the other end a port of the bridge.
 * One `ip -batch` for all hosts keeps this to a single process however many hosts there are.
 */
export async function createHostLinks(bridge: string, links: HostLink[], rate?: string): Promise<void> {
  const lines = links.flatMap((l) => [
    `netns add ${l.netns}`,
    `link add name ${l.veth} type veth peer name eth0 netns ${l.netns}`,
    `link set dev ${l.veth} master ${bridge} up`,
  ]);
  await mustRun('creating host network namespaces', 'ip', ['-batch', '-'], `${lines.join('\n')}\n`);
  if (rate) {
    const tc = links.map((l) => `qdisc add dev ${l.veth} root ${tbfArgs(rate).join(' ')}`);
    await mustRun('capping host links', 'tc', ['-batch', '-'], `${tc.join('\n')}\n`);
  }
}

export async function deleteLink(dev: string): Promise<void> {
  if (!(await linkExists(dev))) return;
  const r = await runProgram('ip', ['link', 'del', 'dev', dev]);
  if (r.code !== 0 && (await linkExists(dev))) {
    throw new EnvironmentError(`removing link ${dev}: ip link del failed: ${r.stderr.trim()}`);
  }
}

export async function deleteNetns(netns: string): Promise<void> {
  if (!(await netnsExists(netns))) return;
  await mustRun(`removing network namespace ${netns}`, 'ip', ['netns', 'del', netns]);
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await runProgram('mountpoint', ['-q', path])).code === 0;
}
