// `${VAR}` references let a Clusterfile name a secret without containing it: the value comes from the
// environment of the berth process at the moment it is used, and the file (and berth's saved copy)
// keeps the reference. Only `${NAME}` is recognised; `$NAME` and `$(NAME)` are left alone because image
// scripts use those forms for their own expansion.

const reference = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function referencedVariables(value: string): string[] {
  return [...value.matchAll(reference)].map((m) => m[1] as string);
}

/** True when the whole value is one `${VAR}` reference, so it holds no secret text itself. */
export function isPureReference(value: string): boolean {
  return /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(value);
}

export class UnsetVariableError extends Error {
  constructor(readonly variable: string) {
    super(`\${${variable}} is not set in the environment; export ${variable} or write the value`);
  }
}

/** Replaces every `${VAR}`; throws UnsetVariableError for the first variable that is not set. */
export function resolveReferences(value: string, env: NodeJS.ProcessEnv = process.env): string {
  return value.replace(reference, (_, name: string) => {
    const v = env[name];
    if (v === undefined) throw new UnsetVariableError(name);
    return v;
  });
}
