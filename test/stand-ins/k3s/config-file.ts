// k3s's configfilearg: config.yaml plus config.yaml.d/*.yaml turned into flags placed before the real ones.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { applyEnvAndDefaults, type FlagDef, type Parsed, parseArgs } from './flag-set.js';
import { klog } from './standin-log.js';
import { defaultConfigFile } from './standin-paths.js';
import { parseYamlSubset } from './yaml-subset.js';

export class ConfigFileError extends Error {}

function configPath(cliArgs: string[]): string {
  if (process.env.K3S_CONFIG_FILE) return process.env.K3S_CONFIG_FILE;
  for (let i = 0; i < cliArgs.length; i++) {
    const m = /^--?(config|c)(=(.*))?$/.exec(cliArgs[i]);
    if (m) return m[2] ? (m[3] ?? '') : (cliArgs[i + 1] ?? '');
  }
  return defaultConfigFile();
}

function configFiles(main: string): string[] {
  const files = existsSync(main) ? [main] : [];
  const dropDir = `${main}.d`;
  if (existsSync(dropDir)) {
    for (const name of readdirSync(dropDir).sort()) {
      if (/\.ya?ml$/i.test(name)) files.push(`${dropDir}/${name}`);
    }
  }
  return files;
}

function readConfigMap(file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYamlSubset(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigFileError(`failed to parse ${file}: ${(e as Error).message}`);
  }
  if (doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigFileError(
      `failed to parse ${file}: yaml: unmarshal errors: cannot unmarshal into map[string]interface {}`,
    );
  }
  return doc as Record<string, unknown>;
}

const asItems = (v: unknown): string[] => (Array.isArray(v) ? v.map((x) => scalarText(x)) : [scalarText(v)]);

function scalarText(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Merged key/value view of the config file and its drop-ins: later files win, "key+" appends. */
function mergedConfig(files: string[]): Map<string, unknown> {
  const merged = new Map<string, unknown>();
  for (const file of files) {
    for (const [rawKey, value] of Object.entries(readConfigMap(file))) {
      if (rawKey.endsWith('+')) {
        const key = rawKey.slice(0, -1);
        const prev = merged.get(key);
        merged.set(key, [...(prev === undefined ? [] : asItems(prev)), ...asItems(value)]);
      } else {
        merged.set(rawKey, value);
      }
    }
  }
  return merged;
}

function toArgs(config: Map<string, unknown>): string[] {
  const args: string[] = [];
  for (const [key, value] of config) {
    const dash = key.length === 1 ? '-' : '--';
    for (const item of asItems(value)) args.push(`${dash}${key}=${item}`);
  }
  return args;
}

/**
 * The flags of one command after config, CLI and env are combined as k3s does: CLI beats config for scalars
 * and replaces config lists; env fills what neither set. `filterUnknown` is the server's skip-with-warning.
 */
export function loadCommandFlags(
  defs: FlagDef[],
  cliArgs: string[],
  filterUnknown: boolean,
): Parsed & { configFile: string } {
  const path = configPath(cliArgs);
  const config = mergedConfig(configFiles(path));
  if (filterUnknown) {
    const known = new Set(defs.flatMap((d) => d.names));
    for (const key of [...config.keys()]) {
      if (!known.has(key)) {
        klog.warn(`Unknown flag --${key} found in ${basename(path)}, skipping\n`);
        config.delete(key);
      }
    }
  }
  const fromConfig = parseArgs(defs, toArgs(config));
  const fromCli = parseArgs(defs, cliArgs);
  for (const [k, v] of fromCli.values) fromConfig.values.set(k, v);
  applyEnvAndDefaults(defs, fromConfig.values);
  return { values: fromConfig.values, positional: fromCli.positional, help: fromCli.help, configFile: path };
}
