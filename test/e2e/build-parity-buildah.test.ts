// Builds the same Kubefiles with buildah (the builder under `sealos build`) and with berth and compares
// what a cluster image carries: Env, Cmd, Entrypoint, Labels, WorkingDir, User, ports, volumes, stop
// signal, and every file with its type, mode, owner, link target and content. Skipped without buildah.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadImages } from '../../src/image/archive.js';
import { buildImage } from '../../src/image/build.js';
import { unpackImage } from '../../src/image/mount.js';
import { ImageStore } from '../../src/image/store.js';
import type { ImageConfig } from '../../src/image/types.js';

function hasBuildah(): boolean {
  try {
    execFileSync('buildah', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The PATH buildah puts into every image that has none (berth leaves it out: see docs/kubefile.md). */
const buildahDefaultPath = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface Case {
  name: string;
  kubefile: string;
  buildArgs?: Record<string, string>;
  labels?: string[];
  env?: string[];
}

const cases: Case[] = [
  {
    name: 'continuations keep whitespace; comment and blank lines inside are skipped',
    kubefile: [
      'FROM scratch',
      'LABEL a=1 \\',
      '# a comment inside',
      '',
      '      b=2',
      'ENV SPACED="x \\',
      '   y"',
      'CMD   echo hi \\',
      '   there   ',
      '',
    ].join('\n'),
  },
  {
    name: 'quoting and escapes in ENV, LABEL and ARG',
    kubefile: [
      'FROM scratch',
      'ARG A=one',
      `ENV E1=\\$A E2='$A' E3="$A q" E4=a\\ b E5="a\\"b" E6='a\\' "quoted key"=v`,
      'ENV LEGACY  some value  here',
      'LABEL "label key"="v 1" plain=p other=$A',
      `ARG M1=1 M2="two words"`,
      'ENV M="$M1 $M2"',
      '',
    ].join('\n'),
  },
  {
    name: 'substitution: defaults, alternatives, same-line ENV, global ARG, build args, platform args',
    kubefile: [
      'ARG G=global',
      'ARG BASE=scratch',
      'FROM $BASE',
      'ARG G',
      'ARG GIVEN=default',
      'ARG UNSET',
      'ARG TARGETARCH',
      'ENV X=1 Y=$X Z=${G:-none} D=${UNSET:-dflt} P=${G:+alt} Q=${UNSET:+alt} T=${TARGETARCH}',
      'ENV X=2 W=${GIVEN}',
      'ENV GIVEN=env-wins',
      'LABEL given=$GIVEN',
      '',
    ].join('\n'),
    buildArgs: { GIVEN: 'from-flag' },
  },
  {
    name: 'exec and shell forms of CMD and ENTRYPOINT',
    kubefile: [
      'FROM scratch',
      'CMD ["kubectl", "apply", "-f", "x y"]',
      'ENTRYPOINT sh -c "echo $HOME"',
      '',
    ].join('\n'),
  },
  {
    name: 'ENTRYPOINT shell form alone; WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL',
    kubefile: [
      'FROM scratch',
      'ARG U=1000',
      'ENTRYPOINT kubeadm init',
      'WORKDIR /opt',
      'WORKDIR app/$U',
      'USER ${U}:${U}',
      'EXPOSE 80 443/udp 8000-8001',
      'VOLUME /data /var/lib/x',
      'VOLUME ["/v2"]',
      'STOPSIGNAL SIGTERM',
      '',
    ].join('\n'),
  },
  {
    name: 'COPY --chmod, --chown, --from, links, destinations relative to WORKDIR',
    kubefile: [
      'FROM scratch AS parts',
      'COPY bin/ /bin/',
      'FROM scratch',
      'COPY --from=parts /bin/tool /usr/bin/tool',
      'COPY scripts /scripts',
      'COPY --chmod=600 etc/config.yaml /etc/',
      'COPY --chown=5:6 etc/config.yaml /owned/config.yaml',
      'COPY linkdir /followed/',
      'COPY etc/inner-link /inner-link-copy',
      'WORKDIR /work',
      'COPY etc/ conf',
      'COPY ["etc/config.yaml", "in-work.yaml"]',
      '',
    ].join('\n'),
  },
  {
    name: '--label and --env apply after the Kubefile, as buildah applies them',
    kubefile: ['FROM scratch', 'ENV Y=${X:-unset} X=kube', 'LABEL a=kube', ''].join('\n'),
    labels: ['a=flag', 'b=2', 'c'],
    env: ['X=flag', 'W=$X', 'V=a${X}b'],
  },
];

async function makeContext(dir: string, kubefile: string): Promise<string> {
  const ctx = join(dir, 'ctx');
  await mkdir(join(ctx, 'bin'), { recursive: true });
  await mkdir(join(ctx, 'scripts', 'lib'), { recursive: true });
  await mkdir(join(ctx, 'etc', 'sub'), { recursive: true });
  await writeFile(join(ctx, 'bin', 'tool'), '#!/bin/sh\necho tool\n');
  await chmod(join(ctx, 'bin', 'tool'), 0o755);
  await writeFile(join(ctx, 'scripts', 'init.sh'), 'echo init\n');
  await chmod(join(ctx, 'scripts', 'init.sh'), 0o750);
  await writeFile(join(ctx, 'scripts', 'lib', 'common.sh'), 'x=1\n');
  await chmod(join(ctx, 'scripts', 'lib'), 0o700);
  await writeFile(join(ctx, 'etc', 'config.yaml'), 'a: 1\n');
  await chmod(join(ctx, 'etc', 'config.yaml'), 0o640);
  await writeFile(join(ctx, 'etc', 'sub', 'deep.txt'), 'deep\n');
  await symlink('sub/deep.txt', join(ctx, 'etc', 'inner-link'));
  await symlink('scripts/lib', join(ctx, 'linkdir'));
  await writeFile(join(ctx, 'Kubefile'), kubefile);
  return ctx;
}

interface FileFacts {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  link?: string;
  sha?: string;
}

async function tree(root: string): Promise<Record<string, FileFacts>> {
  const out: Record<string, FileFacts> = {};
  const walk = async (dir: string, rel: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const abs = join(dir, name);
      const path = rel ? `${rel}/${name}` : name;
      const st = await lstat(abs);
      const facts: FileFacts = {
        type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file',
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
      };
      if (st.isSymbolicLink()) {
        facts.link = await readlink(abs);
        delete (facts as { mode?: number }).mode;
      } else if (st.isFile())
        facts.sha = createHash('sha256')
          .update(await readFile(abs))
          .digest('hex');
      out[path] = facts;
      if (st.isDirectory()) await walk(abs, path);
    }
  };
  await walk(root, '');
  return out;
}

function comparable(config: ImageConfig, from: 'buildah' | 'berth', kubefile: string) {
  const c = config.config ?? {};
  let env = c.Env ?? [];
  if (from === 'buildah' && !/\bPATH=/.test(kubefile)) env = env.filter((e) => e !== buildahDefaultPath);
  const labels = { ...c.Labels };
  if (from === 'buildah') delete labels['io.buildah.version'];
  // buildah keeps the shell form as /bin/sh -c TEXT, berth as TEXT alone (docs/kubefile.md says why).
  const shellForm = (v: string[] | undefined) =>
    from === 'buildah' && v?.length === 3 && v[0] === '/bin/sh' && v[1] === '-c' ? [v[2]] : v;
  return {
    Env: env,
    Cmd: shellForm(c.Cmd) ?? null,
    Entrypoint: shellForm(c.Entrypoint) ?? null,
    Labels: labels,
    WorkingDir: c.WorkingDir ?? '',
    User: c.User ?? '',
    ExposedPorts: c.ExposedPorts ?? {},
    Volumes: c.Volumes ?? {},
    StopSignal: c.StopSignal ?? '',
  };
}

test('Kubefiles give the same config and files with buildah and with berth', {
  skip: !hasBuildah() && 'buildah is not installed',
}, async (t) => {
  const work = await mkdtemp(join(tmpdir(), 't-parity-'));
  const buildahRoot = [
    '--root',
    join(work, 'buildah-root'),
    '--runroot',
    join(work, 'buildah-run'),
    '--storage-driver',
    'vfs',
  ];
  t.after(async () => {
    await rm(work, { recursive: true, force: true });
  });
  const store = new ImageStore(join(work, 'store'));
  let n = 0;
  for (const c of cases) {
    await t.test(c.name, async () => {
      n++;
      const dir = join(work, `case-${n}`);
      await mkdir(dir);
      const ctx = await makeContext(dir, c.kubefile);
      const ref = `localhost/parity:${n}`;
      const flags = [
        ...Object.entries(c.buildArgs ?? {}).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
        ...(c.labels ?? []).flatMap((l) => ['--label', l]),
        ...(c.env ?? []).flatMap((e) => ['--env', e]),
      ];
      execFileSync(
        'buildah',
        [
          ...buildahRoot,
          'bud',
          '--isolation',
          'chroot',
          '-f',
          join(ctx, 'Kubefile'),
          '-t',
          ref,
          ...flags,
          ctx,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, X: 'host' } },
      );
      const archive = join(dir, 'buildah.tar');
      execFileSync('buildah', [...buildahRoot, 'push', ref, `oci-archive:${archive}:${ref}`], {
        stdio: 'ignore',
      });
      const theirs = new ImageStore(join(dir, 'buildah-store'));
      await loadImages(theirs, archive);

      await buildImage({
        contextDir: ctx,
        tags: [ref],
        store,
        buildArgs: c.buildArgs,
        labels: c.labels,
        env: c.env,
      });
      const a = await theirs.image(ref);
      const b = await store.image(ref);
      assert.deepEqual(
        comparable(b.config, 'berth', c.kubefile),
        comparable(a.config, 'buildah', c.kubefile),
      );
      await unpackImage(theirs, ref, join(dir, 'buildah-files'));
      await unpackImage(store, ref, join(dir, 'berth-files'));
      assert.deepEqual(await tree(join(dir, 'berth-files')), await tree(join(dir, 'buildah-files')));
    });
  }
});
