/**
 * How to reach and log in to one host. `password` also serves as the sudo password unless `sudoPassword`
 * is given. `agent` is an ssh-agent socket path (SSH_AUTH_SOCK).
 */
export interface HostSpec {
  host: string;
  port?: number;
  user?: string;
  password?: string;
  privateKeyPath?: string;
  privateKey?: string;
  passphrase?: string;
  sudoPassword?: string;
  agent?: string;
  /**
   * The host's public key as an OpenSSH line (`ssh-ed25519 AAAA...`), when known from elsewhere (a sandbox):
   * it is required to match and known_hosts is left alone.
   */
  hostKey?: string;
}

export function hostPort(spec: HostSpec): number {
  return spec.port ?? 22;
}

export function hostUser(spec: HostSpec): string {
  return spec.user ?? 'root';
}

/** The name a host goes by in output and errors: `10.0.0.2`, or `10.0.0.2:2222` off the default port. */
export function hostLabel(spec: HostSpec): string {
  const port = hostPort(spec);
  return port === 22 ? spec.host : `${spec.host}:${port}`;
}

/** One pooled connection per login: user@host:port. */
export function poolKey(spec: HostSpec): string {
  return `${hostUser(spec)}@${spec.host}:${hostPort(spec)}`;
}
