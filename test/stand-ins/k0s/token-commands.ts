// `k0s token create|list|invalidate`, run on a controller: the token Secrets in kube-system, made and read
// with the admin kubeconfig, and the join token printed for `--role` with the URL and CA a joining node needs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tokenFromSecret, tokenSecretName } from '../kube-api/bootstrap-tokens.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { SECRETS } from '../kubeadm/cluster-objects.js';
import { bool, type FlagValues, parseDuration, str } from '../kubeadm/cobra-flags.js';
import { KubeClient } from '../kubeadm/kubeconfig.js';
import type { ClusterSettings } from './cluster-config.js';
import { tokenServer } from './controller-run.js';
import { encodeJoinToken, newTokenSecret, secretRole, type TokenRole } from './join-token.js';
import type { K0sPaths } from './k0s-paths.js';
import { readStatus, StatusError } from './status-socket.js';

export class TokenCommandError extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function role(values: FlagValues, allowEmpty: boolean): TokenRole | undefined {
  const r = str(values, 'role') ?? (allowEmpty ? '' : 'worker');
  if (r === '' && allowEmpty) return undefined;
  if (r !== 'worker' && r !== 'controller')
    throw new TokenCommandError(`unsupported role "${r}"; supported roles are "controller" and "worker"`);
  return r;
}

/** The running controller, waited for with --wait (once a second, 120 tries). */
async function runningController(statusSocket: string, wait: boolean): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      const st = await readStatus(statusSocket);
      if (!st.Role.startsWith('controller'))
        throw new TokenCommandError('k0s token commands must be run on a controller node');
      return;
    } catch (e) {
      if (!(e instanceof StatusError) || !wait || i >= 120) throw e;
      await sleep(1_000);
    }
  }
}

export async function tokenCreate(
  p: K0sPaths,
  c: ClusterSettings,
  values: FlagValues,
  statusSocket: string,
): Promise<string> {
  const r = role(values, false)!;
  const expiryText = str(values, 'expiry') ?? '0s';
  const expiry = parseDuration(expiryText);
  if (expiry === undefined)
    throw new TokenCommandError(
      `invalid argument "${expiryText}" for "--expiry" flag: time: invalid duration "${expiryText}"`,
    );
  await runningController(statusSocket, bool(values, 'wait'));
  const { token, secret } = newTokenSecret(r, expiry > 0 ? new Date(Date.now() + expiry) : undefined);
  await KubeClient.fromFile(p.adminConf).call('POST', SECRETS, secret);
  const ca = readFileSync(join(p.pki, 'ca.crt'), 'utf8');
  return encodeJoinToken(r, tokenServer(c, r), ca, token);
}

export async function tokenList(p: K0sPaths, values: FlagValues, statusSocket: string): Promise<string> {
  const want = role(values, true);
  await runningController(statusSocket, false);
  const secrets: KubeObject[] = (await KubeClient.fromFile(p.adminConf).get(SECRETS))?.items ?? [];
  const rows = secrets
    .map((s) => ({ s, t: tokenFromSecret(s) }))
    .filter(({ s, t }) => t && (!want || secretRole(s) === want))
    .map(({ s, t }) => [
      t!.id,
      secretRole(s),
      t!.expires ? t!.expires.toISOString().replace(/\.\d+Z$/, 'Z') : 'never',
    ]);
  if (!rows.length) return 'No k0s join tokens found\n';
  const table = [['ID', 'ROLE', 'EXPIRES AT'], ...rows];
  const widths = [0, 1].map((i) => Math.max(...table.map((r) => r[i].length)));
  return `${table.map((r) => `${r[0].padEnd(widths[0])}   ${r[1].padEnd(widths[1])}   ${r[2]}`.trimEnd()).join('\n')}\n`;
}

export async function tokenInvalidate(p: K0sPaths, ids: string[], statusSocket: string): Promise<string> {
  if (!ids.length) throw new TokenCommandError('invalidate requires at least one token ID to invalidate');
  await runningController(statusSocket, false);
  const admin = KubeClient.fromFile(p.adminConf);
  let out = '';
  for (const id of ids) {
    await admin.delete(`${SECRETS}/${tokenSecretName(id)}`);
    out += `token ${id} deleted successfully\n`;
  }
  return out;
}
