// A systemd sandbox host needs cgroups of its own: systemd manages everything below its root cgroup, and
// a host must neither see nor touch the machine's or another host's. Each host gets a child of berth's
// own cgroup in every hierarchy the machine has mounted; its PID 1 moves in and takes a cgroup namespace
// rooted there, then mounts the same hierarchies (seen from that root) in its own /sys/fs/cgroup.
// The kernel leaves the host's cgroup directories behind when it stops, so down removes them.

import type { Dirent } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvironmentError } from '../util/errors.js';

const cgroupRoot = '/sys/fs/cgroup';

/** One cgroup hierarchy as mounted on the machine under /sys/fs/cgroup. */
export interface CgroupMount {
  /** Mount point relative to /sys/fs/cgroup ('' when /sys/fs/cgroup itself is the cgroup2 mount). */
  dir: string;
  type: 'cgroup' | 'cgroup2';
  /** `-o` options that mount the same hierarchy again, e.g. `cpu,cpuacct` or `none,name=systemd`. */
  options: string;
  /** berth's own cgroup in this hierarchy, an absolute path on the machine; hosts get children of it. */
  parentDir: string;
}

/** The machine's hierarchies as a host's boot joins and mounts them, and the links beside them. */
export interface CgroupLayout {
  mounts: CgroupMount[];
  /** Symbolic links directly in /sys/fs/cgroup (e.g. `cpu -> cpu,cpuacct`), recreated inside. */
  links: Array<{ name: string; target: string }>;
}

// Mount options that say how a v1 hierarchy is mounted, not which controllers it holds.
const genericOptions = new Set(['rw', 'ro', 'noprefix', 'clone_children', 'xattr', 'nsdelegate']);

interface MountEntry {
  root: string;
  point: string;
  type: string;
  controllers: string[];
}

function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

function cgroupMounts(mountinfo: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const f = left.split(' ');
    const [type, , superOptions = ''] = right.split(' ');
    if (type !== 'cgroup' && type !== 'cgroup2') continue;
    const point = unescapeMountPath(f[4] ?? '');
    if (point !== cgroupRoot && !point.startsWith(`${cgroupRoot}/`)) continue;
    const controllers = superOptions
      .split(',')
      .filter((o) => o && !genericOptions.has(o) && !o.startsWith('release_agent='))
      .sort();
    out.push({ root: unescapeMountPath(f[3] ?? '/'), point, type, controllers });
  }
  return out;
}

/**
 * The hierarchies of this process's /proc/self/cgroup (lines `ID:CONTROLLERS:PATH`) that are mounted
 * under /sys/fs/cgroup, each with this process's cgroup in it (`<mount point><PATH>`). Hierarchies
 * mounted nowhere there are left out: the hosts will not have them either.
 */
export function parseCgroupMounts(selfCgroup: string, mountinfo: string): CgroupMount[] {
  const mounts = cgroupMounts(mountinfo);
  const out: CgroupMount[] = [];
  for (const line of selfCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const controllers = (m[2] as string).split(',').filter(Boolean).sort();
    const path = m[3] as string;
    const v2 = m[1] === '0' && controllers.length === 0;
    const mount = mounts.find((e) =>
      v2 ? e.type === 'cgroup2' : e.type === 'cgroup' && e.controllers.join(',') === controllers.join(','),
    );
    if (!mount) continue;
    // A mount of a sub-tree (berth itself in a container) shows PATH without the sub-tree's root.
    const within = mount.root !== '/' && path.startsWith(mount.root) ? path.slice(mount.root.length) : path;
    const dir = mount.point.slice(cgroupRoot.length).replace(/^\//, '');
    const named = controllers.every((c) => c.startsWith('name='));
    out.push({
      dir,
      type: v2 ? 'cgroup2' : 'cgroup',
      options: v2 ? '' : named ? ['none', ...controllers].join(',') : controllers.join(','),
      parentDir: join(mount.point, within),
    });
  }
  return out;
}

/** This machine's cgroup layout as seen from this process. */
export async function machineCgroupLayout(): Promise<CgroupLayout> {
  const [self, mountinfo] = await Promise.all([
    readFile('/proc/self/cgroup', 'utf8'),
    readFile('/proc/self/mountinfo', 'utf8'),
  ]);
  const mounts = parseCgroupMounts(self, mountinfo);
  if (mounts.length === 0) {
    throw new EnvironmentError(
      `no cgroup hierarchy is mounted under ${cgroupRoot}; systemd hosts need one (or use --init sshd)`,
    );
  }
  const links: CgroupLayout['links'] = [];
  if (!mounts.some((m) => m.dir === '')) {
    for (const name of await readdir(cgroupRoot)) {
      const path = join(cgroupRoot, name);
      if ((await lstat(path)).isSymbolicLink()) links.push({ name, target: await readlink(path) });
    }
  }
  return { mounts, links };
}

/** The host's cgroup in hierarchy `m`. */
export function hostCgroupDir(m: CgroupMount, leaf: string): string {
  return join(m.parentDir, leaf);
}

/**
 * Makes the host's cgroups and returns their paths. A v1 cpuset cgroup starts with no CPUs and no
 * memory nodes, and no process can join it until they are set: the host gets its parent's.
 */
export async function createHostCgroups(layout: CgroupLayout, leaf: string): Promise<string[]> {
  const dirs: string[] = [];
  for (const m of layout.mounts) {
    const dir = hostCgroupDir(m, leaf);
    try {
      await mkdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new EnvironmentError(`creating cgroup ${dir}: ${(err as Error).message}`);
      }
    }
    dirs.push(dir);
    if (m.type !== 'cgroup' || !m.options.split(',').includes('cpuset')) continue;
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      const value = (await readFile(join(m.parentDir, file), 'utf8')).trim();
      await writeFile(join(dir, file), value);
    }
  }
  return dirs;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function removeTree(dir: string, deadline: number): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) if (e.isDirectory()) await removeTree(join(dir, e.name), deadline);
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      // a cgroup whose last process is still exiting cannot go yet
      if (code !== 'EBUSY' || Date.now() > deadline || attempt > 1000) {
        throw new EnvironmentError(
          `removing cgroup ${dir}: ${(err as Error).message}; run berth sandbox down again`,
        );
      }
      await sleep(50);
    }
  }
}

/** Removes the host's cgroups, children before parents; cgroups already gone are fine. */
export async function removeHostCgroups(dirs: string[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const dir of dirs) await removeTree(dir, deadline);
}
