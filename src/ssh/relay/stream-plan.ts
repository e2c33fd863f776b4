import type { LocalEntry, LocalTree } from '../local-tree.js';
import type { HostDiff } from '../tree-copy.js';

// Which part of a tree the relay stream carries. One stream serves every host of the chain, so a file is
// left out only when every host already has it with the same size, mode and sha256; directories and
// symlinks cost a header each and always go. The files left out are listed in the stream itself, with
// the sha256 each host must find, so that a host can build exactly the new tree from the stream and its
// existing copy.

/** Name of the stream's entry (outside `t/`) listing the files taken from each host's existing tree. */
export const REUSE_ENTRY = 'reuse';

export interface ReusedFile {
  rel: string;
  mode: number;
  sha256: string;
}

export interface StreamPlan {
  /** Entries the stream carries, in the tree's order. */
  entries: LocalEntry[];
  /** Files every host takes from its existing tree instead. */
  reused: ReusedFile[];
}

export function wholeTree(tree: LocalTree): StreamPlan {
  return { entries: tree.entries, reused: [] };
}

/** The stream for hosts whose differences from `tree` are `diffs`; any host without the tree gets all of it. */
export async function planStream(tree: LocalTree, diffs: HostDiff[]): Promise<StreamPlan> {
  if (diffs.length === 0 || diffs.some((d) => !d.exists)) return wholeTree(tree);
  const differ = new Set<string>();
  for (const { diff } of diffs) for (const e of [...diff.send, ...diff.chmod]) differ.add(e.rel);
  const plan: StreamPlan = { entries: [], reused: [] };
  for (const e of tree.entries) {
    if (e.type !== 'file' || differ.has(e.rel)) plan.entries.push(e);
    else plan.reused.push({ rel: e.rel, mode: e.mode, sha256: await tree.sha256(e.rel) });
  }
  return plan;
}

/** The REUSE_ENTRY's content: NUL-terminated `mode sha256 path` records, mode in octal. */
export function reuseListing(plan: StreamPlan): Buffer {
  return Buffer.from(plan.reused.map((f) => `${f.mode.toString(8)} ${f.sha256} ${f.rel}\0`).join(''));
}
