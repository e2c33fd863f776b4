// Step outputs as a driver writes them into later steps: a placeholder naming the host, step and output,
// which the engine replaces with the captured value just before the step runs. A placeholder keeps the
// driver pure (it never sees the value) and a dry run readable (it prints the placeholder).

const pattern = /\{\{berth-output ([^ }]+) ([^ }]+) ([^ }]+)\}\}/g;

/** The placeholder for output `name` of step `step` on `host`. */
export function stepOutput(host: string, step: string, name: string): string {
  return `{{berth-output ${host} ${step} ${name}}}`;
}

export interface OutputRef {
  host: string;
  step: string;
  name: string;
}

/** Every output placeholder in `text`. */
export function outputRefs(text: string): OutputRef[] {
  return [...text.matchAll(pattern)].map((m) => ({
    host: m[1] as string,
    step: m[2] as string,
    name: m[3] as string,
  }));
}

/** `text` with each placeholder replaced by `value(ref)`. */
export function fillOutputs(text: string, value: (ref: OutputRef) => string): string {
  return text.replace(pattern, (_, host: string, step: string, name: string) => value({ host, step, name }));
}
