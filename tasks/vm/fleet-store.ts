/**
 * Reads and writes build/vm_configs/vm-N.json. Reading is forgiving: a
 * missing, corrupt or half-valid file costs that VM (part of) its stored
 * identity and yields a warning, never a crash. Writing is atomic.
 */
import { chmod, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../engine/fs-util.ts';
import type { VmConfig } from './config-types.ts';
import { isIdentityValue, PASSWORD_HASH_PATTERN } from './fleet-random.ts';
import { vmConfigKeyOrder } from './fleet-schema.ts';
import { IDENTITY_FIELDS } from './fleet-types.ts';

/** What was found under build/vm_configs, keyed by VM name. */
export interface StoredConfigs {
  configs: Map<string, Partial<VmConfig>>;
  /** One sentence per file or field that was ignored, and why. */
  warnings: string[];
}

// Owner only: these files hold VNC passwords and password hashes.
const SECRET_MODE = 0o600;

const CONFIG_FILE = /^(vm-[1-9][0-9]*)\.json$/;

/** build/vm_configs/vm-N.json for a VM name. */
export function vmConfigPath(buildDir: string, vmName: string): string {
  return path.join(buildDir, 'vm_configs', `${vmName}.json`);
}

/**
 * Reads every stored vm-N.json. Identity fields and the password hash
 * that are malformed are dropped (so they are generated anew); other
 * fields are returned as found. Warnings come in VM order.
 */
export async function readStoredConfigs(buildDir: string): Promise<StoredConfigs> {
  const dir = path.join(buildDir, 'vm_configs');
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });

  const vms = names
    .flatMap((n) => CONFIG_FILE.exec(n)?.[1] ?? [])
    .sort((a, b) => vmNumber(a) - vmNumber(b));
  const read = await Promise.all(vms.map((vm) => readStoredConfig(dir, vm)));

  const configs = new Map<string, Partial<VmConfig>>();
  for (const [i, { config }] of read.entries()) {
    if (config) configs.set(vms[i]!, config);
  }
  return { configs, warnings: read.flatMap((r) => r.warnings) };
}

const vmNumber = (vm: string) => Number(vm.slice('vm-'.length));

// One stored config, with what had to be dropped from it and why.
const readStoredConfig = async (dir: string, vm: string) => {
  const file = path.join(dir, `${vm}.json`);
  const text = await readFile(file, 'utf8').catch((e: Error) => e);
  const config = text instanceof Error ? text : parseConfig(text);
  if (config instanceof Error) {
    return {
      warnings: [`${file}: ignored (${config.message}); ${vm} gets a new identity.`],
    };
  }
  if (config.vm_name !== vm) {
    const named = JSON.stringify(config.vm_name);
    return {
      warnings: [
        `${file}: ignored: it names ${named}, expected "${vm}"; ${vm} gets a new identity.`,
      ],
    };
  }

  const warnings: string[] = [];
  for (const field of IDENTITY_FIELDS) {
    if (field in config && !isIdentityValue(field, config[field])) {
      warnings.push(`${file}: ${field} is malformed; ${vm} gets a new one.`);
      delete config[field];
    }
  }
  const hash = config.user_password_hash;
  if (
    hash !== undefined &&
    !(typeof hash === 'string' && PASSWORD_HASH_PATTERN.test(hash))
  ) {
    warnings.push(`${file}: user_password_hash is malformed; it will be hashed again.`);
    delete config.user_password_hash;
  }
  return { config, warnings };
};

const parseConfig = (text: string): Partial<VmConfig> | Error => {
  try {
    const data: unknown = JSON.parse(text);
    if (data && typeof data === 'object' && !Array.isArray(data))
      return data as Partial<VmConfig>;
    return new Error('expected a JSON object');
  } catch (err) {
    return new Error(`not valid JSON: ${(err as Error).message}`);
  }
};

/** Pretty JSON with the keys in vm.schema.json's order, newline-terminated. */
export function serializeVmConfig(config: VmConfig): string {
  const ordered: Record<string, unknown> = {};
  for (const key of vmConfigKeyOrder()) ordered[key] = config[key as keyof VmConfig];
  return JSON.stringify(ordered, null, 2) + '\n';
}

/**
 * Writes build/vm_configs/vm-N.json (mode 0600: it holds the VNC
 * password). Returns false when the file already had this content.
 */
export async function writeVmConfig(
  buildDir: string,
  config: VmConfig,
): Promise<boolean> {
  return writeSecretFile(
    vmConfigPath(buildDir, config.vm_name),
    serializeVmConfig(config),
  );
}

/**
 * Writes a file that holds secrets: atomically, durably, mode 0600. An
 * identical file is left alone (bar its mode), so its mtime stays put.
 * Returns whether the content changed.
 */
export async function writeSecretFile(file: string, content: string): Promise<boolean> {
  const current = await readFile(file, 'utf8').catch(() => null);
  if (current !== content) {
    await writeFileAtomic(file, content, SECRET_MODE, true);
    return true;
  }
  if (((await stat(file)).mode & 0o777) !== SECRET_MODE) await chmod(file, SECRET_MODE);
  return false;
}
