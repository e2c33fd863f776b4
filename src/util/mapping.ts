// A YAML or JSON mapping as a plain object, and the check that a parsed value is one (not a list, not null).

export type Mapping = Record<string, unknown>;

export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
