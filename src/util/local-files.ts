import { createHash } from 'node:crypto';
import { access } from 'node:fs/promises';

// Small questions about local files and bytes that many modules ask.

/** True when `path` exists (a dangling symlink counts as absent). */
export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The OCI digest of `data`: `sha256:<hex>`. */
export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
