/**
 * Which CPU models this host's QEMU knows, and which features each would
 * lose here (QMP `query-cpu-definitions` on a paused, device-less QEMU).
 */
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
