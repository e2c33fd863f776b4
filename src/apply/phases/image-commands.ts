import { join } from 'node:path';
import { expandVars, shellEnvPrefix } from '../../image/contract.js';
import { shellQuote } from '../../util/shell.js';
import type { ChangePhase } from '../phase.js';

// Commands the images carry: the rootfs/patch CMD (or spec.command) on every host inside the rootfs, then
// each application image's CMD on the first master inside its own directory. Each runs once per image
// content and env; re-applying an unchanged cluster runs nothing.

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

export const runApplications: ChangePhase = {
  title: 'run application images',
  plan(c) {
    const master0 = c.masters[0];
    if (!master0) return { order: 'sequential', steps: [] };
    return {
      order: 'sequential',
      steps: c.images.apps.flatMap((app, i) => {
        if (!app.command) return [];
        const dir = join(c.remoteDir, 'apps', `app-${i}`);
        return [
          {
            host: master0.ip,
            id: `app-${i}`,
            description: `${app.image.ref}: ${app.command}`,
            copies: [{ from: app.dir, to: dir, what: `application ${app.image.ref}` }],
            commands: [
              `cd ${shellQuote(dir)} && ${shellEnvPrefix(app.env)}${expandVars(app.command, app.env)}`,
            ],
            inputs: [app.image.manifestDigest, app.env, app.command],
          },
        ];
      }),
    };
  },
};
