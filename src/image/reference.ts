import { UsageError } from '../util/errors.js';

// Image references as docker and the distribution spec write them:
//   [registry[:port]/]repository[:tag][@sha256:digest]
// A first path segment is a registry host when it has a dot or a colon or is "localhost"; otherwise the
// reference is on Docker Hub, where one-segment names live under library/.

export const dockerHubRegistry = 'docker.io';
export const dockerHubApiHost = 'registry-1.docker.io';

export interface ImageReference {
  /** Registry host[:port] as written, `docker.io` when none was given. */
  registry: string;
  /** Repository path inside the registry, e.g. `library/nginx`, `labring/kubernetes`. */
  repository: string;
  tag?: string;
  digest?: string;
}

const repoPart = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const digestPattern = /^sha256:[a-f0-9]{64}$/;

export function parseReference(text: string): ImageReference {
  const bad = (why: string) => new UsageError(`invalid image reference "${text}": ${why}`);
  if (!text || /\s/.test(text)) throw bad('empty or contains spaces');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestPattern.test(digest)) throw bad('digest must be sha256:<64 hex>');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagPattern.test(tag)) throw bad(`tag "${tag}" is not valid`);
  }
  const segments = rest.split('/');
  let registry = dockerHubRegistry;
  const first = segments[0] as string;
  if (segments.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    segments.shift();
  }
  if (registry === 'index.docker.io' || registry === dockerHubApiHost) registry = dockerHubRegistry;
  if (registry === dockerHubRegistry && segments.length === 1) segments.unshift('library');
  for (const s of segments) {
    if (!repoPart.test(s))
      throw bad(`repository path component "${s}" must be lowercase letters, digits, . _ -`);
  }
  if (!tag && !digest) tag = 'latest';
  return { registry, repository: segments.join('/'), tag, digest };
}

/** The full canonical name: `docker.io/library/nginx:latest`. */
export function formatReference(ref: ImageReference): string {
  let s = `${ref.registry}/${ref.repository}`;
  if (ref.tag) s += `:${ref.tag}`;
  if (ref.digest) s += `@${ref.digest}`;
  return s;
}

/**
 * The short name people type and `berth images` shows: Docker Hub's registry and `library/` dropped,
 * other registries kept (`nginx:1.25`, `labring/kubernetes:v1.27.7`, `localhost:5000/x:y`).
 */
export function familiarName(ref: ImageReference): string {
  let repo = ref.repository;
  if (ref.registry === dockerHubRegistry) {
    if (repo.startsWith('library/')) repo = repo.slice('library/'.length);
  } else {
    repo = `${ref.registry}/${repo}`;
  }
  let s = repo;
  if (ref.tag) s += `:${ref.tag}`;
  if (ref.digest) s += `@${ref.digest}`;
  return s;
}

/** The familiar name without tag or digest (`example/hello`): what stays the same across an image's versions. */
export function repositoryName(ref: ImageReference): string {
  return familiarName({ ...ref, tag: undefined, digest: undefined });
}

/** The host an API request goes to for this reference's registry. */
export function registryApiHost(registry: string): string {
  return registry === dockerHubRegistry ? dockerHubApiHost : registry;
}

/**
 * The repository path an image keeps inside a cluster image's registry/ directory: the source registry
 * host is dropped (`registry.k8s.io/pause:3.9` is stored as `pause:3.9`). Docker Hub's `library/` stays,
 * because a runtime pulling `docker.io/nginx` through a mirror asks the mirror for `library/nginx`.
 */
export function mirrorRepository(ref: ImageReference): string {
  return ref.repository;
}
