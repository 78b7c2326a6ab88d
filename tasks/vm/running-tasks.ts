/**
 * The targets that keep a VM running: vm-N.boot and vm-N.limit.
 */
import type { TaskDef } from '../engine/types.ts';
import type { FleetSettings, VmConfig } from './config-types.ts';

export interface RunningOptions {
  root: string;
  buildDir: string;
  accel: 'kvm' | 'tcg';
  fleet: FleetSettings;
}

export function runningTasks(_config: VmConfig, _opts: RunningOptions): TaskDef[] {
  return [];
}
