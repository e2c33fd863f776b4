// `kubeadm token create|list|delete|generate` and `init phase upload-certs`: the bootstrap-token Secrets
// and the kubeadm-certs Secret, through the API with the admin kubeconfig.
import { readFileSync } from 'node:fs';
import {
  caCertHash,
  generateToken,
  isExpired,
  parseToken,
  TOKEN_SECRET_TYPE,
  tokenFromSecret,
  tokenSecretName,
} from '../kube-api/bootstrap-tokens.js';
import type { KubeObject } from '../kube-api/kube-object.js';
import { CLUSTER_INFO, SECRETS, storeToken } from './cluster-objects.js';
import { bool, type FlagValues, list, parseDuration, str } from './cobra-flags.js';
import { KubeadmError } from './config-load.js';
import { ADMIN_CONF, PKI_DIR } from './kubeadm-paths.js';
import { KubeClient, parseKubeconfig } from './kubeconfig.js';
import { newCertificateKey, uploadCerts } from './upload-certs.js';

type Out = (l: string) => void;

const client = (values: FlagValues) => KubeClient.fromFile(str(values, 'kubeconfig') ?? ADMIN_CONF);

export async function tokenCreate(values: FlagValues, positional: string[], out: Out): Promise<void> {
  const token = positional[0] ?? generateToken();
  if (!parseToken(token))
    throw new KubeadmError(
      `the bootstrap token "${token}" was not of the form "\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z"`,
    );
  const ttl = str(values, 'ttl');
  const api = client(values);
  await storeToken(api, {
    token,
    ttlMs: ttl === undefined ? 24 * 3600_000 : parseDuration(ttl),
    ...(str(values, 'description') ? { description: str(values, 'description') } : {}),
    usages: list(values, 'usages').length ? list(values, 'usages') : ['signing', 'authentication'],
    groups: list(values, 'groups').length
      ? list(values, 'groups')
      : ['system:bootstrappers:kubeadm:default-node-token'],
  });
  if (!bool(values, 'print-join-command')) {
    out(token);
    return;
  }
  const info = await api.get(CLUSTER_INFO);
  const server = parseKubeconfig(String(info?.data?.kubeconfig ?? '')).server.replace(/^https:\/\//, '');
  const hash = caCertHash(readFileSync(`${PKI_DIR}/ca.crt`, 'utf8'));
  const key = str(values, 'certificate-key');
  out(
    `kubeadm join ${server} --token ${token} --discovery-token-ca-cert-hash ${hash}${key ? ` --control-plane --certificate-key ${key}` : ''} `,
  );
}

/** apimachinery's ShortHumanDuration, as the TTL column shows it. */
function shortHumanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  if (s < 365 * 86400) return `${Math.floor(s / 86400)}d`;
  return `${Math.floor(s / (365 * 86400))}y`;
}

export async function tokenList(values: FlagValues, out: Out): Promise<void> {
  const resp = await client(values).get(
    `${SECRETS}?fieldSelector=type%3D${encodeURIComponent(TOKEN_SECRET_TYPE)}`,
  );
  const tokens = ((resp?.items as KubeObject[]) ?? [])
    .map(tokenFromSecret)
    .filter((t): t is NonNullable<typeof t> => t !== undefined);
  const output = str(values, 'output');
  if (output === 'json' || output === 'yaml') {
    for (const t of tokens)
      out(
        JSON.stringify(
          {
            kind: 'BootstrapToken',
            apiVersion: 'output.kubeadm.k8s.io/v1alpha3',
            token: `${t.id}.${t.secret}`,
            ...(t.description ? { description: t.description } : {}),
            ...(t.expires ? { expires: t.expires.toISOString().replace(/\.\d+Z$/, 'Z') } : {}),
            usages: t.usages,
            groups: t.groups,
          },
          null,
          4,
        ),
      );
    return;
  }
  const rows = [['TOKEN', 'TTL', 'EXPIRES', 'USAGES', 'DESCRIPTION', 'EXTRA GROUPS']];
  for (const t of tokens) {
    if (isExpired(t)) continue;
    rows.push([
      `${t.id}.${t.secret}`,
      t.expires ? shortHumanDuration(t.expires.getTime() - Date.now()) : '<forever>',
      t.expires ? t.expires.toISOString().replace(/\.\d+Z$/, 'Z') : '<never>',
      t.usages.join(','),
      t.description ?? '<none>',
      t.groups.join(','),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows)
    out(
      r
        .map((c, i) => c.padEnd(widths[i] + 3))
        .join('')
        .trimEnd(),
    );
}

export async function tokenDelete(values: FlagValues, positional: string[], out: Out): Promise<void> {
  if (!positional.length)
    throw new KubeadmError(
      'missing argument; \'token delete\' is missing token of form "[a-z0-9]{6}" or "[a-z0-9]{6}\\.[a-z0-9]{16}"',
    );
  const api = client(values);
  for (const arg of positional) {
    const id = parseToken(arg)?.id ?? (/^[a-z0-9]{6}$/.test(arg) ? arg : undefined);
    if (!id)
      throw new KubeadmError(
        `given token didn't match pattern "[a-z0-9]{6}" or "[a-z0-9]{6}\\.[a-z0-9]{16}"`,
      );
    if (!(await api.delete(`${SECRETS}/${tokenSecretName(id)}`)))
      throw new KubeadmError(
        `failed to delete bootstrap token with ID "${id}": secrets "${tokenSecretName(id)}" not found`,
      );
    out(`bootstrap token "${id}" deleted`);
  }
}

export async function uploadCertsPhase(values: FlagValues, out: Out): Promise<void> {
  if (!bool(values, 'upload-certs')) {
    out('[upload-certs] Skipping phase. Please see --upload-certs');
    return;
  }
  const key = str(values, 'certificate-key') ?? newCertificateKey();
  await uploadCerts(client(values), PKI_DIR, key);
  out('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace');
  if (!bool(values, 'skip-certificate-key-print')) out(`[upload-certs] Using certificate key:\n${key}`);
}
