import { join } from 'node:path';
import { expandVars, shellEnvPrefix } from '../../image/contract.js';
import { shellQuote } from '../../util/shell.js';
import type { PreparedApp } from '../cluster-images.js';
import type { ChangePhase } from '../phase.js';

// Commands the images carry: the rootfs/patch CMD (or spec.command) on every host inside the rootfs, then
// each application image's CMD on the first master inside its own directory (apps/<image name>). Each
// runs once per image content, env and command; re-applying an unchanged cluster runs nothing.

export const runRootfsCommand: ChangePhase = {
  title: 'run image commands',
  plan(c) {
    const command = c.images.command;
    if (!command) return { order: 'parallel', steps: [] };
    return {
      order: 'parallel',
      steps: c.hosts.map((h) => {
        const env = { ...c.images.env, ...h.env };
        return {
          host: h.ip,
          id: 'rootfs-cmd',
          description: command,
          commands: [`cd ${shellQuote(c.remoteRootfs)} && ${shellEnvPrefix(env)}${expandVars(command, env)}`],
          inputs: [c.images.key, command],
        };
      }),
    };
  },
};

/** The journal id of an application's CMD on the first master. */
export const appStepId = (app: Pick<PreparedApp, 'id'>) => `app-${app.id}`;

export const runApplications: ChangePhase = {
  title: 'run application images',
  plan(c) {
    const master0 = c.masters[0];
    if (!master0) return { order: 'sequential', steps: [] };
    const kubeconfig = c.runtime.kubeconfig(c.runtimeCtx).remotePath;
    return {
      order: 'sequential',
      steps: c.images.apps.flatMap((app) => {
        if (!app.command) return [];
        const dir = join(c.remoteDir, 'apps', app.id);
        // the CMD's kubectl reaches the cluster as admin, its cache kept in the cluster's directory
        const env = {
          KUBECONFIG: kubeconfig,
          KUBECACHEDIR: join(c.remoteDir, 'kube-cache'),
          ...app.env,
        };
        return [
          {
            host: master0.ip,
            id: appStepId(app),
            description: `${app.image.ref}: ${app.command}`,
            // its registry/ went to the cluster registry (app-registry.ts)
            copies: [{ from: app.dir, to: dir, without: ['registry'], what: `application ${app.image.ref}` }],
            commands: [`cd ${shellQuote(dir)} && ${shellEnvPrefix(env)}${expandVars(app.command, app.env)}`],
            // by name and content, not by place in the image list: reordering images runs nothing again
            inputs: {
              image: app.name,
              digest: app.image.manifestDigest,
              env: app.env,
              command: app.command,
            },
            failure: `application ${app.image.ref} (${app.command})`,
          },
        ];
      }),
    };
  },
};
