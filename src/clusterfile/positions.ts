import { type Document, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import type { z } from 'zod';
import { secretKeys } from './secret-fields.js';

// Maps a field path (as zod reports it) back to the line of the YAML source that holds it, so every
// message can say FILE:LINE: field.path: what is wrong.

export type FieldPath = ReadonlyArray<PropertyKey>;

export function formatPath(path: FieldPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/**
 * The 1-based line of the deepest node on `path` that exists in the source (a missing field points at its
 * parent). Map entries point at their key, sequence entries at the item. Nodes added by --set have no
 * source range and yield undefined.
 */
export function lineOf(doc: Document, lines: LineCounter, path: FieldPath): number | undefined {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0];
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg),
      );
      if (!pair) break;
      offset = (pair.key as Node).range?.[0];
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      node = node.items[seg];
      offset = (node as Node | null)?.range?.[0];
    } else {
      break;
    }
  }
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

/**
 * The line of every field and list item of a document, keyed by its formatPath, so that a driver that
 * gets the document as a plain object can still name the line of a field it refuses.
 */
export function fieldLines(doc: Document, lines: LineCounter): Record<string, number> {
  const out: Record<string, number> = {};
  const visit = (node: unknown, path: PropertyKey[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue;
        const sub = [...path, String(pair.key.value)];
        const offset = (pair.key as Node).range?.[0];
        if (offset !== undefined) out[formatPath(sub)] = lines.linePos(offset).line;
        visit(pair.value, sub);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const sub = [...path, i];
        const offset = (item as Node | null)?.range?.[0];
        if (offset !== undefined) out[formatPath(sub)] = lines.linePos(offset).line;
        visit(item, sub);
      });
    }
  };
  visit(doc.contents, []);
  return out;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value}"`;
  return String(value);
}

const article: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  array: 'a list',
  object: 'a mapping',
  boolean: 'true or false',
};

export const UNKNOWN_FIELD = 'unknown field (misspelt?)';

export interface LocatedIssue {
  path: PropertyKey[];
  message: string;
}

/** zod issues as berth words them, one per field; unknown keys become one issue per key. */
export function describeIssues(issues: ReadonlyArray<z.core.$ZodIssue>): LocatedIssue[] {
  const out: LocatedIssue[] = [];
  for (const issue of issues) {
    const path = [...issue.path];
    // A credential typed wrongly (say, a numeric password) must not end up in the message.
    const hidden = (secretKeys as readonly PropertyKey[]).includes(path[path.length - 1] ?? '');
    const describe = (value: unknown) =>
      hidden && (typeof value === 'string' || typeof value === 'number')
        ? `a ${typeof value}`
        : describeValue(value);
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) out.push({ path: [...path, key], message: UNKNOWN_FIELD });
        break;
      case 'invalid_type':
        out.push({
          path,
          message:
            issue.input === undefined
              ? 'is required'
              : issue.expected === 'string' && ['number', 'boolean'].includes(typeof issue.input)
                ? `must be a string; put the value in quotes${hidden ? '' : ` ("${String(issue.input)}")`}`
                : `must be ${article[issue.expected] ?? issue.expected}, not ${describe(issue.input)}`,
        });
        break;
      case 'invalid_value':
        out.push({
          path,
          message:
            issue.values.length === 1
              ? `must be ${describe(issue.values[0])}, not ${describe(issue.input)}`
              : `${describe(issue.input)} is not one of: ${issue.values.map(String).join(', ')}`,
        });
        break;
      default:
        out.push({ path, message: issue.message });
    }
  }
  return out;
}
