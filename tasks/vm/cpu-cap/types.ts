/**
 * The contract every CPU cap mechanism keeps (cgroup v2, cgroup v1,
 * cpulimit), and where a VM's cgroup lives. Each mechanism can apply a cap,
 * check it is still in place, read back what reality says, and remove it.
 */
import { sha256 } from '../../engine/fingerprint.ts';
import { resolve } from 'node:path';
import type { ProbeResult } from '../../engine/types.ts';
import type { CapMechanism } from '../config-types.ts';

/** A concrete mechanism: `auto` resolved. */
export type CapKind = Exclude<CapMechanism, 'auto'>;

/** Which process to cap, by how much, and which fleet it belongs to. */
export interface CapTarget {
  vmId: number;
  /** The QEMU process id. */
  pid: number;
  /** Percent of one core: 80 = 80% of one core, 150 = one and a half cores. */
  percent: number;
  buildDir: string;
}

/** What `vm-N.limit` stores: enough for its probe to check the cap is still there. */
export interface CapRecord {
  [key: string]: unknown;
  mechanism: CapKind;
  pid: number;
  percent: number;
  /** The value written, as the mechanism spells it: `80000 100000`, `-l 80`. */
  value: string;
  /** The cgroup directory, for the cgroup mechanisms. */
  group?: string;
  /** The cpulimit helper's pid. */
  helperPid?: number;
}

/** A cap read back from the system, for `status` and the logs. */
export interface CapReading {
  mechanism: CapKind;
  /** Percent of one core the values amount to. */
  percent: number;
  /** The raw values read: `cpu.max=80000 100000`. */
  value: string;
  /** The cgroup directory or the helper process it was read from. */
  where: string;
}

/** One way of capping a process's CPU. */
export interface CapBackend {
  kind: CapKind;
  /** Why this host cannot use the mechanism, or undefined when it can. */
  unavailable(): Promise<string | undefined>;
  /** Caps `target.pid`, reads the cap back and logs what it read. */
  apply(target: CapTarget, log: (line: string) => void): Promise<CapRecord>;
  /** Fresh only if `record`'s cap still holds `target.pid` at `target.percent`. */
  check(target: CapTarget, record: CapRecord): Promise<ProbeResult>;
  /** The cap this mechanism puts on `pid` right now, if any. */
  read(pid: number): Promise<CapReading | undefined>;
  /** Lifts the VM's cap (if `pid` is alive it keeps running, uncapped) and removes what the cap created. */
  remove(vmId: number, buildDir: string, pid?: number): Promise<void>;
}

/** CFS period used by both cgroup mechanisms: 100 ms, the kernel's default. */
export const CFS_PERIOD_US = 100_000;

/** The CFS quota for `percent` of one core per period. */
export function quotaFor(percent: number): number {
  return Math.round((percent / 100) * CFS_PERIOD_US);
}

/**
 * The VM's cgroup, relative to the hierarchy's root:
 * `qemu-vm-manager/fleet-<hash of the build dir>/vm-N`. The fleet part
 * keeps two checkouts on one host (a CI runner and a user) from sharing
 * vm-1's cgroup, and with it one quota.
 */
export function capGroup(buildDir: string, vmId: number): string {
  return `${capFleetGroup(buildDir)}/vm-${vmId}`;
}

/** The fleet's cgroup, parent of its VMs' cgroups. */
export function capFleetGroup(buildDir: string): string {
  const hash = sha256(resolve(buildDir)).slice(0, 10);
  return `qemu-vm-manager/fleet-${hash}`;
}
