// `k0s install`/`start`/`stop` and reset's service removal. Where systemd is PID 1 (it has
// /run/systemd/system, as kardianos/service checks) the unit is the one k0s's template writes,
// /etc/systemd/system/k0s<role>.service. Elsewhere real k0s would write a SysV init script; the stand-in
// uses berth's own supervisor instead (a run file under /etc/berth/services and the shared supervise
// script), so sandbox hosts without systemd restart k0s as berth restarts its own services.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { removeService, servicePaths, supervisorScript } from '../../../src/host/services.js';
import { shellQuote } from '../../../src/util/shell.js';

export type Role = 'controller' | 'worker';
export const SERVICE_NAMES: Record<Role, string> = { controller: 'k0scontroller', worker: 'k0sworker' };

export class ServiceError extends Error {}

export const systemdRunning = () => existsSync('/run/systemd/system');

export const unitPath = (role: Role) => `/etc/systemd/system/${SERVICE_NAMES[role]}.service`;

/** The unit k0s's systemd template renders (pkg/install/linux_systemd.go). */
export function k0sUnit(execStart: string[], env: string[]): string {
  return [
    '[Unit]',
    'Description=k0s - Zero Friction Kubernetes',
    'Documentation=https://docs.k0sproject.io',
    `ConditionFileIsExecutable=${execStart[0]}`,
    '',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'StartLimitInterval=5',
    'StartLimitBurst=10',
    `ExecStart=${execStart.map(shellQuote).join(' ')}`,
    ...env.map((e) => `Environment="${e}"`),
    '',
    'RestartSec=10',
    'Delegate=yes',
    'KillMode=process',
    'LimitCORE=infinity',
    'TasksMax=infinity',
    'TimeoutStartSec=0',
    '',
    'LimitNOFILE=999999',
    'Restart=always',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

function runFile(execStart: string[], env: string[]): string {
  const exports = env.map((e) => {
    const i = e.indexOf('=');
    return `export ${e.slice(0, i)}=${shellQuote(e.slice(i + 1))}`;
  });
  return [
    '#!/bin/sh',
    '# k0s - Zero Friction Kubernetes',
    ...exports,
    `exec ${execStart.map(shellQuote).join(' ')}`,
    '',
  ].join('\n');
}

function installedRole(): Role | undefined {
  for (const role of ['controller', 'worker'] as const) {
    if (existsSync(unitPath(role)) || existsSync(servicePaths(SERVICE_NAMES[role]).runFile)) return role;
  }
  return undefined;
}

export function installService(role: Role, execStart: string[], env: string[], force: boolean): void {
  const name = SERVICE_NAMES[role];
  const target = systemdRunning() ? unitPath(role) : servicePaths(name).runFile;
  if (existsSync(target) && !force)
    throw new ServiceError(`failed to install k0s service: Init already exists: ${target}`);
  mkdirSync(dirname(target), { recursive: true });
  if (systemdRunning()) {
    writeFileSync(target, k0sUnit(execStart, env), { mode: 0o644 });
    execFileSync('systemctl', ['daemon-reload']);
    execFileSync('systemctl', ['enable', name], { stdio: 'ignore' });
    return;
  }
  writeFileSync(target, runFile(execStart, env), { mode: 0o700 });
  const sup = servicePaths(name).supervisor;
  if (!existsSync(sup) || readFileSync(sup, 'utf8') !== supervisorScript()) {
    mkdirSync(dirname(sup), { recursive: true });
    writeFileSync(sup, supervisorScript(), { mode: 0o755 });
  }
}

function isActive(name: string): boolean {
  const r = systemdRunning()
    ? spawnSync('systemctl', ['is-active', '--quiet', name])
    : spawnSync('sh', [servicePaths(name).supervisor, 'status', name]);
  return r.status === 0;
}

/** The installed role and whether its service runs; undefined when k0s is not installed as a service. */
export function serviceState(): { role: Role; running: boolean; file: string } | undefined {
  const role = installedRole();
  if (!role) return undefined;
  const name = SERVICE_NAMES[role];
  return {
    role,
    running: isActive(name),
    file: systemdRunning() ? unitPath(role) : servicePaths(name).runFile,
  };
}

export function startService(): void {
  const st = serviceState();
  if (!st) throw new ServiceError('k0s has not been installed as a service');
  if (st.running) throw new ServiceError('already running');
  const name = SERVICE_NAMES[st.role];
  const r = systemdRunning()
    ? spawnSync('systemctl', ['start', name], { stdio: 'inherit' })
    : spawnSync('sh', [servicePaths(name).supervisor, 'start', name], { stdio: 'inherit' });
  if (r.status !== 0) throw new ServiceError(`failed to start ${name}`);
}

export function stopService(): void {
  const st = serviceState();
  if (!st) throw new ServiceError('k0s has not been installed as a service');
  const name = SERVICE_NAMES[st.role];
  const r = systemdRunning()
    ? spawnSync('systemctl', ['stop', name], { stdio: 'inherit' })
    : spawnSync('sh', [servicePaths(name).supervisor, 'stop', name], { stdio: 'inherit' });
  if (r.status !== 0) throw new ServiceError(`failed to stop ${name}`);
}

/** Both services' definitions removed (kardianos Uninstall), whichever exists. */
export function uninstallServices(): string[] {
  const errors: string[] = [];
  for (const role of ['controller', 'worker'] as const) {
    const name = SERVICE_NAMES[role];
    if (!existsSync(unitPath(role)) && !existsSync(servicePaths(name).runFile)) continue;
    const r = spawnSync('sh', ['-c', removeService(name).join('\n')], { encoding: 'utf8' });
    if (r.status !== 0) errors.push(`failed to uninstall ${name}: ${r.stderr.trim()}`);
    rmSync(unitPath(role), { force: true });
  }
  return errors;
}
