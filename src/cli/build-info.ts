import { readFileSync } from 'node:fs';

// The version line names the commit the running code was built from, so a bug report says exactly which
// code ran. `npm run build` writes dist/build-info.json; the single-file build has the same values
// compiled in (as BERTH_BUILD_INFO), because it carries no files beside it.

export interface BuildInfo {
  version: string;
  commit: string;
}

declare const BERTH_BUILD_INFO: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  if (typeof BERTH_BUILD_INFO !== 'undefined') return BERTH_BUILD_INFO;
  return JSON.parse(readFileSync(new URL('../../build-info.json', import.meta.url), 'utf8')) as BuildInfo;
}

export function versionLine(info: BuildInfo = buildInfo()): string {
  return `berth ${info.version} (commit ${info.commit})`;
}
