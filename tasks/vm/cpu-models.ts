/**
 * Which CPU models this host's QEMU knows, and which features each would
 * lose here (QMP `query-cpu-definitions` on a paused, device-less QEMU).
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { which } from 'zx';
import { writeFileAtomic } from '../engine/fs-util.ts';
import { exec } from '../engine/process.ts';

export interface CpuModelInfo {
  name: string;
  /** Features this host cannot give the model (empty: runs with all features). */
  unavailable: string[];
}

const QUERY =
  ['qmp_capabilities', 'query-cpu-definitions', 'quit']
    .map((c) => JSON.stringify({ execute: c }))
    .join('\n') + '\n';

/** Every model QEMU knows under `accel`, by name (aliases included). */
export async function queryCpuModels(
  accel: 'kvm' | 'tcg',
): Promise<Map<string, CpuModelInfo>> {
  const lines: string[] = [];
  const result = await exec(
    'qemu-system-x86_64',
    [
      '-machine',
      `pc,accel=${accel}`,
      '-S',
      '-display',
      'none',
      '-nodefaults',
      '-qmp',
      'stdio',
    ],
    { input: QUERY, timeoutMs: 20_000, onLine: (l) => lines.push(l) },
  );
  const models = new Map<string, CpuModelInfo>();
  for (const line of lines) {
    let msg: { return?: unknown };
    try {
      msg = JSON.parse(line);
    } catch {
      continue;
    }
    if (!Array.isArray(msg.return)) continue;
    for (const def of msg.return as {
      name: string;
      'unavailable-features'?: string[];
    }[]) {
      models.set(def.name, {
        name: def.name,
        unavailable: def['unavailable-features'] ?? [],
      });
    }
  }
  if (models.size === 0) {
    throw new Error(
      `qemu-system-x86_64 did not list its CPU models (exit ${result.code}): ${result.tail.join(' | ')}`,
    );
  }
  return models;
}

/**
 * The names of the CPU models QEMU knows, remembered in build/.state while
 * the qemu-system-x86_64 binary is unchanged, so a no-op run does not start
 * QEMU just to ask.
 */
export async function knownCpuModelNames(buildDir: string): Promise<Set<string>> {
  const binary = await which('qemu-system-x86_64');
  const info = await stat(binary);
  const key = `${binary} ${info.size} ${info.mtimeMs}`;
  const cacheFile = join(buildDir, '.state', 'cpu-models.json');
  try {
    const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as {
      key: string;
      names: string[];
    };
    if (cached.key === key) return new Set(cached.names);
  } catch {
    // No cache yet, or an unreadable one: ask QEMU.
  }
  const names = [...(await queryCpuModels('tcg')).keys()];
  await writeFileAtomic(cacheFile, JSON.stringify({ key, names }), 0o644, false);
  return new Set(names);
}
