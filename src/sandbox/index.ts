export type { HostInit } from './boot.js';
export { sandboxDown } from './down.js';
export { restartHost, setHostLink } from './host-faults.js';
export { listSandboxes, loadSandbox } from './store.js';
export type { Sandbox, SandboxHost } from './types.js';
export { type SandboxUpOptions, sandboxUp } from './up.js';
