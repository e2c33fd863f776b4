import { z } from 'zod';
import { parseReference } from '../image/reference.js';
import { expandAddress } from './ips.js';

// The Cluster document, field for field as sealos v4 writes it (apps.sealos.io/v1beta1), so existing
// Clusterfiles load unchanged. `spec` is strict: a misspelt key is an error, not a silently ignored
// setting. `status` is written by the tool and stays tolerant of keys other versions add.

export const clusterApiVersion = 'apps.sealos.io/v1beta1';
export const roleNames = ['master', 'node', 'registry', 'amd64', 'arm64'] as const;
export const clusterPhases = ['ClusterInProcess', 'ClusterSuccess', 'ClusterFailed'] as const;

export type Role = (typeof roleNames)[number];

const nameSchema = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, {
  error: 'must be a lowercase DNS label: a-z, 0-9 and "-", at most 63 characters',
});

/** A port as a number, or as digits in a string (so that `--set spec.ssh.port=2222` works). */
export const portSchema = z.preprocess(
  (v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v),
  z
    .number()
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be a port number 1-65535' })
    .max(65535, { error: 'must be a port number 1-65535' }),
);

/** `KEY=VALUE` entries, as in sealos `env` lists. */
export const envListSchema = z.array(
  z.string().regex(/^[^=\s]+=/, { error: 'must be KEY=VALUE with a non-empty KEY' }),
);

export const sshSchema = z.strictObject({
  user: z.string().min(1, { error: 'must not be empty' }).optional(),
  passwd: z.string().optional(),
  /** Path of a private key file on the machine running berth. */
  pk: z.string().min(1, { error: 'must not be empty' }).optional(),
  /** The private key itself (PEM/OpenSSH text). */
  pkData: z.string().optional(),
  pkPasswd: z.string().optional(),
  port: portSchema.optional(),
});

const addressEntrySchema = z.string().transform((text, ctx) => {
  try {
    return expandAddress(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const hostSchema = z
  .strictObject({
    ips: z.array(addressEntrySchema).min(1, { error: 'needs at least one address' }),
    roles: z.array(z.enum(roleNames)).min(1, { error: 'needs a role: master or node' }),
    env: envListSchema.optional(),
    ssh: sshSchema.optional(),
  })
  .superRefine((host, ctx) => {
    if (!host.roles.includes('master') && !host.roles.includes('node')) {
      ctx.addIssue({ code: 'custom', path: ['roles'], message: 'needs role master or node' });
    }
    if (host.roles.includes('amd64') && host.roles.includes('arm64')) {
      ctx.addIssue({ code: 'custom', path: ['roles'], message: 'names two architectures; keep one' });
    }
  });

const imageSchema = z.string().superRefine((ref, ctx) => {
  try {
    parseReference(ref);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const specSchema = z
  .strictObject({
    image: z.array(imageSchema).min(1, { error: 'needs at least one image, the rootfs image first' }),
    ssh: sshSchema.default({}),
    hosts: z.array(hostSchema).min(1, { error: 'needs at least one host' }),
    env: envListSchema.optional(),
    command: z.array(z.string()).optional(),
  })
  .superRefine((spec, ctx) => {
    if (!spec.hosts.some((h) => h.roles.includes('master'))) {
      ctx.addIssue({ code: 'custom', path: ['hosts'], message: 'needs at least one host with role master' });
    }
    // Kubernetes knows a node by its IP, so the same IP twice (even with other ports) is a mistake.
    const seen = new Map<string, string>();
    spec.hosts.forEach((host, i) => {
      host.ips.forEach((expanded, j) => {
        for (const address of expanded) {
          const ip = address.replace(/^\[([^\]]+)\].*$/, '$1').replace(/^([\d.]+):\d+$/, '$1');
          const first = seen.get(ip);
          if (first !== undefined) {
            ctx.addIssue({
              code: 'custom',
              path: ['hosts', i, 'ips', j],
              message: `IP ${ip} is already listed at ${first}; an IP appears once`,
            });
          } else {
            seen.set(ip, `spec.hosts[${i}].ips[${j}]`);
          }
        }
      });
    });
  });

const mountSchema = z.looseObject({
  name: z.string().optional(),
  type: z.string().optional(),
  imageName: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  cmd: z.array(z.string()).optional(),
  entrypoint: z.array(z.string()).optional(),
});

export const statusSchema = z.looseObject({
  phase: z.enum(clusterPhases).optional(),
  mounts: z.array(mountSchema).optional(),
  /** The Kubernetes version the last successful apply brought every host to. */
  kubernetesVersion: z.string().optional(),
  conditions: z.array(z.looseObject({})).optional(),
});

export const clusterSchema = z
  .strictObject({
    apiVersion: z.literal(clusterApiVersion),
    kind: z.literal('Cluster'),
    metadata: z.looseObject({ name: nameSchema.default('default') }).default({ name: 'default' }),
    spec: specSchema,
    status: statusSchema.optional(),
  })
  // Ranges were expanded per entry (so errors can name the entry); the model holds plain addresses.
  .transform((c) => ({
    ...c,
    spec: { ...c.spec, hosts: c.spec.hosts.map((h) => ({ ...h, ips: h.ips.flat() })) },
  }));

/** A validated cluster: addresses expanded, defaults filled, secrets decrypted, `${VAR}` kept. */
export type Cluster = z.output<typeof clusterSchema>;
/** What a Clusterfile may contain for the Cluster document. */
export type ClusterInput = z.input<typeof clusterSchema>;
export type ClusterHost = Cluster['spec']['hosts'][number];
export type SshSpec = z.output<typeof sshSchema>;
export type ClusterStatus = z.output<typeof statusSchema>;
export type ClusterPhase = (typeof clusterPhases)[number];
