import { Document, isMap, parseAllDocuments, type YAMLMap } from 'yaml';
import { InputError } from '../util/errors.js';
import { isMapping } from '../util/mapping.js';
import { documentValue } from '../util/yaml-value.js';
import type { ConfigStrategy } from './documents.js';

// `kind: Config` patches applied to a file of an image.
//   override (default)  the file becomes `data`
//   insert              `data` is put before the file's content
//   append              `data` is put after it
//   merge               both are read as multi-document YAML and each patch document is deep-merged into one
//                       target document:
//                       - a patch document with `kind` goes to the first not yet patched target document of the
//                         same kind (and the same metadata.name when the patch names one);
//                       - a patch document without `kind` goes to the target document at the same position;
//                       - a patch document with no target is added at the end.
//                       Mappings merge key by key; lists and scalars in the patch replace the target's; a key
//                       set to null in the patch is removed (as in JSON merge patch). Comments and key order
//                       of the target are kept.

export interface ConfigPatch {
  data: string;
  strategy?: ConfigStrategy;
  /** The patched file's path, used in error messages. */
  path?: string;
}

function parseDocs(text: string, what: string): Document[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return [];
  for (const d of docs) {
    const err = d.errors[0];
    if (err) {
      const line = err.linePos?.[0].line;
      throw new InputError(
        `${what}${line ? ` line ${line}` : ''}: not YAML, so strategy merge cannot apply: ${err.message.split('\n')[0]}`,
      );
    }
  }
  return docs.filter((d) => d.contents !== null);
}

function mergeMap(doc: Document, target: YAMLMap, patch: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      target.delete(key);
      continue;
    }
    const current = target.get(key, true);
    if (isMapping(value) && isMap(current)) mergeMap(doc, current, value);
    else target.set(key, doc.createNode(value));
  }
}

function identity(value: unknown): { kind?: unknown; name?: unknown } {
  if (!isMapping(value)) return {};
  return { kind: value.kind, name: isMapping(value.metadata) ? value.metadata.name : undefined };
}

function mergeDocuments(content: string, data: string, path: string): string {
  const targets = parseDocs(content, path);
  const patches = parseDocs(data, `the Config patch for ${path}`);
  const patched = new Set<Document>();
  for (const [position, patchDoc] of patches.entries()) {
    const patch = documentValue(patchDoc, `the Config patch for ${path}`);
    const { kind, name } = identity(patch);
    const target =
      kind === undefined
        ? targets[position]
        : targets.find((t) => {
            if (patched.has(t)) return false;
            const id = identity(documentValue(t, path));
            return id.kind === kind && (name === undefined || id.name === name);
          });
    if (!target) {
      targets.push(new Document(patch));
    } else if (isMap(target.contents) && isMapping(patch)) {
      mergeMap(target, target.contents, patch);
    } else {
      target.contents = target.createNode(patch);
    }
    if (target) patched.add(target);
  }
  return targets
    .map((d, i) => {
      const text = d.toString({ lineWidth: 0 });
      return i > 0 && !text.startsWith('---') ? `---\n${text}` : text;
    })
    .join('');
}

/** The new content of a file after applying one Config patch to `fileContent`. */
export function applyConfigPatch(fileContent: string, patch: ConfigPatch): string {
  const path = patch.path ?? 'the patched file';
  switch (patch.strategy ?? 'override') {
    case 'merge':
      return mergeDocuments(fileContent, patch.data, path);
    case 'insert':
      return patch.data.endsWith('\n') || fileContent === ''
        ? patch.data + fileContent
        : `${patch.data}\n${fileContent}`;
    case 'append':
      return fileContent.endsWith('\n') || fileContent === ''
        ? fileContent + patch.data
        : `${fileContent}\n${patch.data}`;
    default:
      return patch.data;
  }
}
