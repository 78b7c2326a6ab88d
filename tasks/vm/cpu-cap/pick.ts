/**
 * Chooses the cap mechanism: `auto` takes the first the host allows, in the
 * order cgroup v2, cgroup v1, cpulimit (precise before approximate). Also
 * reads back every cap a process is under, for `status`.
 */
import type { CapMechanism } from '../config-types.ts';
import { cgroupV1 } from './cgroup-v1.ts';
import { cgroupV2 } from './cgroup-v2.ts';
import { cpulimit } from './cpulimit.ts';
import type { CapBackend, CapKind, CapReading } from './types.ts';

/** Every mechanism, in the order `auto` tries them. */
export const CAP_BACKENDS: readonly CapBackend[] = [cgroupV2, cgroupV1, cpulimit];

/** The backend for a concrete mechanism. */
export function capBackend(kind: CapKind): CapBackend {
  const backend = CAP_BACKENDS.find((b) => b.kind === kind);
  if (!backend) throw new Error(`unknown cap mechanism '${kind}'`);
  return backend;
}

/**
 * The backend for `setting`, or the reasons why none can be used: one line
 * per mechanism tried, ready for an error message.
 */
export async function pickBackend(
  setting: CapMechanism,
): Promise<{ backend: CapBackend } | { reasons: string[] }> {
  const candidates = setting === 'auto' ? CAP_BACKENDS : [capBackend(setting)];
  const reasons: string[] = [];
  for (const backend of candidates) {
    const reason = await backend.unavailable();
    if (reason === undefined) return { backend };
    reasons.push(`${backend.kind}: ${reason}`);
  }
  return { reasons };
}

/** Mechanisms this host can use now, for benches and `doctor`. */
export async function availableMechanisms(): Promise<CapKind[]> {
  const kinds: CapKind[] = [];
  for (const backend of CAP_BACKENDS) {
    if ((await backend.unavailable()) === undefined) kinds.push(backend.kind);
  }
  return kinds;
}

/** Every cap on `pid` right now (normally one), read from the system. */
export async function readCaps(pid: number): Promise<CapReading[]> {
  const readings = await Promise.all(CAP_BACKENDS.map((b) => b.read(pid)));
  return readings.filter((r): r is CapReading => r !== undefined);
}
