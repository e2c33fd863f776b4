// kube-apiserver's command line as kubeadm's static pod manifest (and a ClusterConfiguration's
// apiServer.extraArgs) uses it: the flags below parsed with pflag's rules (--name=value or --name value, a bool
// alone is true), anything else refused with cobra's "unknown flag" line, and the checks kube-apiserver makes
// before it starts.

export type FlagKind = 'string' | 'bool' | 'int' | 'list';

/** name -> kind and default; the flags a kubeadm control plane passes, then common extraArgs. */
const FLAGS: Record<string, [FlagKind, string?]> = {
  'advertise-address': ['string'],
  'allow-privileged': ['bool', 'false'],
  'anonymous-auth': ['bool', 'true'],
  'api-audiences': ['list'],
  'audit-log-format': ['string', 'json'],
  'audit-log-maxage': ['int', '0'],
  'audit-log-maxbackup': ['int', '0'],
  'audit-log-maxsize': ['int', '0'],
  'audit-log-path': ['string'],
  'audit-policy-file': ['string'],
  'authorization-mode': ['list', 'AlwaysAllow'],
  'bind-address': ['string', '0.0.0.0'],
  'client-ca-file': ['string'],
  'disable-admission-plugins': ['list'],
  'enable-admission-plugins': ['list'],
  'enable-aggregator-routing': ['bool', 'false'],
  'enable-bootstrap-token-auth': ['bool', 'false'],
  'encryption-provider-config': ['string'],
  'endpoint-reconciler-type': ['string', 'lease'],
  'etcd-cafile': ['string'],
  'etcd-certfile': ['string'],
  'etcd-keyfile': ['string'],
  'etcd-prefix': ['string', '/registry'],
  'etcd-servers': ['list'],
  'event-ttl': ['string', '1h0m0s'],
  'feature-gates': ['string'],
  'kubelet-certificate-authority': ['string'],
  'kubelet-client-certificate': ['string'],
  'kubelet-client-key': ['string'],
  'kubelet-preferred-address-types': ['list', 'Hostname,InternalDNS,InternalIP,ExternalDNS,ExternalIP'],
  profiling: ['bool', 'true'],
  'proxy-client-cert-file': ['string'],
  'proxy-client-key-file': ['string'],
  'requestheader-allowed-names': ['list'],
  'requestheader-client-ca-file': ['string'],
  'requestheader-extra-headers-prefix': ['list'],
  'requestheader-group-headers': ['list'],
  'requestheader-username-headers': ['list'],
  'runtime-config': ['string'],
  'secure-port': ['int', '6443'],
  'service-account-issuer': ['list'],
  'service-account-key-file': ['list'],
  'service-account-signing-key-file': ['string'],
  'service-cluster-ip-range': ['string'],
  'service-node-port-range': ['string', '30000-32767'],
  'storage-backend': ['string', 'etcd3'],
  'tls-cert-file': ['string'],
  'tls-cipher-suites': ['list'],
  'tls-min-version': ['string'],
  'tls-private-key-file': ['string'],
  v: ['int', '0'],
  help: ['bool', 'false'],
  version: ['bool', 'false'],
};

const SHORTHANDS: Record<string, string> = { h: 'help' };

/** What kube-apiserver's admission chain knows; an unknown name is refused at start as there. */
const ADMISSION_PLUGINS = new Set([
  'AlwaysAdmit',
  'AlwaysDeny',
  'AlwaysPullImages',
  'CertificateApproval',
  'CertificateSigning',
  'CertificateSubjectRestriction',
  'ClusterTrustBundleAttest',
  'DefaultIngressClass',
  'DefaultStorageClass',
  'DefaultTolerationSeconds',
  'DenyServiceExternalIPs',
  'EventRateLimit',
  'ExtendedResourceToleration',
  'ImagePolicyWebhook',
  'LimitPodHardAntiAffinityTopology',
  'LimitRanger',
  'MutatingAdmissionWebhook',
  'NamespaceAutoProvision',
  'NamespaceExists',
  'NamespaceLifecycle',
  'NodeRestriction',
  'OwnerReferencesPermissionEnforcement',
  'PersistentVolumeClaimResize',
  'PersistentVolumeLabel',
  'PodNodeSelector',
  'PodSecurity',
  'PodTolerationRestriction',
  'Priority',
  'ResourceQuota',
  'RuntimeClass',
  'ServiceAccount',
  'StorageObjectInUseProtection',
  'TaintNodesByCondition',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionWebhook',
]);

const AUTHORIZATION_MODES = new Set(['AlwaysAllow', 'AlwaysDeny', 'ABAC', 'Webhook', 'RBAC', 'Node']);

export class FlagError extends Error {}

export class ApiserverFlags {
  constructor(private readonly values: Map<string, string>) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  str(name: string): string {
    return this.values.get(name) ?? FLAGS[name]?.[1] ?? '';
  }

  bool(name: string): boolean {
    return this.str(name) === 'true';
  }

  int(name: string): number {
    return Number(this.str(name));
  }

  list(name: string): string[] {
    return this.str(name)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
}

function normalized(name: string, kind: FlagKind, raw: string): string {
  if (kind === 'bool') {
    const v = raw.toLowerCase();
    if (['1', 't', 'true'].includes(v)) return 'true';
    if (['0', 'f', 'false'].includes(v)) return 'false';
    throw new FlagError(
      `invalid argument "${raw}" for "--${name}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`,
    );
  }
  if (kind === 'int' && !/^-?\d+$/.test(raw))
    throw new FlagError(
      `invalid argument "${raw}" for "--${name}" flag: strconv.ParseInt: parsing "${raw}": invalid syntax`,
    );
  return raw;
}

/** Parses argv with pflag's rules; a list flag given twice keeps both values, as a string slice does. */
export function parseApiserverFlags(argv: string[]): ApiserverFlags {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (!arg.startsWith('-') || arg === '-') continue;
    const long = arg.startsWith('--');
    const body = arg.slice(long ? 2 : 1);
    const eq = body.indexOf('=');
    const given = eq >= 0 ? body.slice(0, eq) : body;
    const name = long ? given : SHORTHANDS[given];
    const def = name === undefined ? undefined : FLAGS[name];
    if (!def || name === undefined)
      throw new FlagError(
        long ? `unknown flag: --${given}` : `unknown shorthand flag: '${given[0]}' in ${arg}`,
      );
    const [kind] = def;
    let raw: string;
    if (eq >= 0) raw = body.slice(eq + 1);
    else if (kind === 'bool') raw = 'true';
    else if (i + 1 < argv.length) raw = argv[++i]!;
    else throw new FlagError(`flag needs an argument: --${name}`);
    const value = normalized(name, kind, raw);
    values.set(name, kind === 'list' && values.has(name) ? `${values.get(name)},${value}` : value);
  }
  return new ApiserverFlags(values);
}

/** The checks kube-apiserver makes on its options before it starts; every failure, as it lists them. */
export function validateApiserverFlags(f: ApiserverFlags): string[] {
  const errors: string[] = [];
  if (!f.list('etcd-servers').length) errors.push('--etcd-servers must be specified');
  if (!f.list('service-account-issuer').length) errors.push('service-account-issuer is a required flag');
  if (!f.str('service-account-signing-key-file') || !f.list('service-account-issuer').length)
    errors.push('--service-account-signing-key-file and --service-account-issuer are required flags');
  const port = f.int('secure-port');
  if (!(port >= 1 && port <= 65535))
    errors.push(
      `--secure-port ${port} must be between 1 and 65535, inclusive. It cannot be turned off with 0`,
    );
  for (const mode of f.list('authorization-mode'))
    if (!AUTHORIZATION_MODES.has(mode)) errors.push(`authorization-mode "${mode}" is not a valid mode`);
  for (const p of [...f.list('enable-admission-plugins'), ...f.list('disable-admission-plugins')])
    if (!ADMISSION_PLUGINS.has(p)) errors.push(`enable-admission-plugins plugin "${p}" is unknown`);
  if (f.has('tls-cert-file') !== f.has('tls-private-key-file'))
    errors.push('--tls-cert-file and --tls-private-key-file must both be set');
  const range = f.str('service-cluster-ip-range');
  if (range && !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(range.split(',')[0]!))
    errors.push(`service-cluster-ip-range[0] is not a valid cidr`);
  if (f.str('storage-backend') !== 'etcd3') errors.push(`--storage-backend invalid, allowed values: etcd3`);
  return errors;
}
