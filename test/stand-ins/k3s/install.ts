// Generator for the k3s stand-in's bin/ files: one self-contained ES module built from the compiled modules
// next to this file, a `k3s` launcher script, and the multicall links real k3s installs.
import { chmod, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

export const STANDIN_BUNDLE_NAME = 'k3s.standin.mjs';
const MULTICALL_NAMES = ['kubectl', 'crictl', 'ctr'];

const localImportRe = /^import\s+\{([^}]*)\}\s+from\s+'(\.\.?\/[\w./-]+)\.js';\s*$/gm;
const nodeImportRe = /^import\s+([^;]*?)\s+from\s+'(node:[\w/]+)';\s*$/gm;
const exportRe = /^export (?:async )?(?:function\*? |class |const |let |var )([\w$]+)/gm;

interface NodeImports {
  named: Set<string>;
  other: Set<string>;
}

function collectNodeImport(clause: string, into: NodeImports): void {
  const braces = /\{([^}]*)\}/.exec(clause);
  if (braces) {
    for (const part of braces[1].split(','))
      if (part.trim()) into.named.add(part.trim().replace(/\s+/g, ' '));
  }
  const rest = clause
    .replace(/\{[^}]*\}/, '')
    .replace(/,\s*$/, '')
    .trim();
  if (rest) into.other.add(rest);
}

const scopeName = (module: string) => `module_${module.replace(/[^\w]/g, '_')}`;

/** `{ a, b as c }` from another module becomes a destructuring of that module's scope object. */
function localBinding(names: string, module: string): string {
  const parts = names
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => p.replace(/\s+as\s+/, ': '));
  return `const { ${parts.join(', ')} } = ${scopeName(module)};`;
}

/** A relative import of `from` (a module path under the stand-ins root, without .js) as such a path. */
const importedModule = (from: string, spec: string) => posix.join(posix.dirname(from), spec);

/**
 * Links the compiled modules in dependency order, each in its own function scope returning its exports, so the
 * result runs as one file. Modules are named by their path under `root` (the k3s stand-in imports the shared
 * API from ../kube-api/). Node built-in imports are hoisted and merged; the modules use only named imports.
 * `title` heads the file: what program it stands in for and which generator wrote it.
 */
export async function bundleStandIn(root: string, entry: string, title: string): Promise<string> {
  const order: string[] = [];
  const seen = new Set<string>();
  const sources = new Map<string, string>();
  const visit = async (module: string) => {
    if (seen.has(module)) return;
    seen.add(module);
    const src = await readFile(join(root, `${module}.js`), 'utf8');
    sources.set(module, src);
    for (const m of src.matchAll(localImportRe)) await visit(importedModule(module, m[2]));
    order.push(module);
  };
  await visit(entry);
  const imports = new Map<string, NodeImports>();
  const bodies = order.map((module) => {
    const src = sources.get(module)!;
    for (const m of src.matchAll(nodeImportRe)) {
      const entry = imports.get(m[2]) ?? { named: new Set<string>(), other: new Set<string>() };
      collectNodeImport(m[1], entry);
      imports.set(m[2], entry);
    }
    const exported = [...src.matchAll(exportRe)].map((m) => m[1]);
    const body = src
      .replace(localImportRe, (_all, names: string, spec: string) =>
        localBinding(names, importedModule(module, spec)),
      )
      .replace(nodeImportRe, '')
      .replace(/^export (?=(async )?function|class |const |let |var )/gm, '');
    return `// ---- ${module}.js\nconst ${scopeName(module)} = (() => {\n${body.trim()}\nreturn { ${exported.join(', ')} };\n})();\n`;
  });
  const header = [...imports].flatMap(([mod, { named, other }]) => [
    ...[...other].map((o) => `import ${o} from '${mod}';`),
    ...(named.size ? [`import { ${[...named].sort().join(', ')} } from '${mod}';`] : []),
  ]);
  return `// ${title} Do not edit.\n${header.join('\n')}\n\n${bodies.join('\n')}`;
}

const BUNDLE_MARKER = '#__K3S_STANDIN_BUNDLE__';

/**
 * One executable file, as the real k3s binary is: a sh header with the bundle appended. Like k3s, which
 * unpacks its runtime into <data-dir>/data/<hash>/ on first use, the header unpacks the bundle there
 * (so `reset`, which removes the data dir, removes it too) and runs it with node.
 */
function launcher(bundle: string): string {
  return [
    '#!/bin/sh',
    "# k3s v1.28 stand-in for berth's tests (one file: a sh header, then the program).",
    'self=$(readlink -f "$0" 2>/dev/null || echo "$0")',
    // the data dir as k3s finds it: --data-dir/-d, then K3S_DATA_DIR, then the default for the user
    'base=${K3S_DATA_DIR:-}; prev=',
    'for a in "$@"; do case "$prev" in --data-dir|-d) base=$a ;; esac; case "$a" in --data-dir=*) base=${a#--data-dir=} ;; esac; prev=$a; done',
    'if [ -z "$base" ]; then if [ "$(id -u)" = 0 ]; then base=/var/lib/rancher/k3s; else base=$HOME/.rancher/k3s; fi; fi',
    'dir="$base/data/standin-$(cksum < "$self" | cut -d" " -f1)"',
    `if [ ! -f "$dir/${STANDIN_BUNDLE_NAME}" ]; then`,
    `  mkdir -p "$dir" && sed '1,/^${BUNDLE_MARKER}$/d' "$self" > "$dir/.bundle.$$" && mv -f "$dir/.bundle.$$" "$dir/${STANDIN_BUNDLE_NAME}" || exit 1`,
    'fi',
    `node_bin=${process.execPath}`,
    '[ -x "$node_bin" ] || node_bin=node',
    'BERTH_STANDIN_ARGV0="$0"',
    'BERTH_STANDIN_SELF="$self"',
    'export BERTH_STANDIN_ARGV0 BERTH_STANDIN_SELF',
    `exec "$node_bin" "$dir/${STANDIN_BUNDLE_NAME}" "$@"`,
    'exit 127',
    BUNDLE_MARKER,
    bundle,
  ].join('\n');
}

/** Writes the one-file `k3s` and the kubectl/crictl/ctr links into destBinDir (created if missing). */
export async function writeK3sStandIn(destBinDir: string): Promise<void> {
  const standIns = dirname(dirname(fileURLToPath(import.meta.url)));
  await mkdir(destBinDir, { recursive: true });
  const script = join(destBinDir, 'k3s');
  await writeFile(
    script,
    launcher(
      await bundleStandIn(
        standIns,
        'k3s/main',
        "k3s v1.28 stand-in for berth's tests, generated by test/stand-ins/k3s/install.ts.",
      ),
    ),
    { mode: 0o755 },
  );
  await chmod(script, 0o755);
  for (const name of MULTICALL_NAMES) {
    await rm(join(destBinDir, name), { force: true });
    await symlink('k3s', join(destBinDir, name));
  }
}
