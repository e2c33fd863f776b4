import type { Document } from 'yaml';
import { InputError } from './errors.js';

/**
 * A parsed YAML document's value. The yaml library resolves aliases only here and throws a plain
 * ReferenceError for an alias that names no anchor (or for an alias bomb), which is the author's mistake,
 * so it becomes an InputError naming `where`.
 */
export function documentValue(doc: Document, where: string): unknown {
  try {
    return doc.toJS();
  } catch (err) {
    throw new InputError(`${where}: YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}
