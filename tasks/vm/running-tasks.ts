/**
 * The targets that keep a VM running: vm-N.boot (after vm-N.install) and
 * vm-N.limit (after vm-N.boot).
 */
import type { TaskDef } from '../engine/types.ts';
import { bootTask } from './boot-task.ts';
import type { FleetSettings, VmConfig } from './config-types.ts';
import { limitTask } from './limit-task.ts';
import { diskPath } from './paths.ts';

export interface RunningOptions {
  root: string;
  buildDir: string;
  accel: 'kvm' | 'tcg';
  fleet: FleetSettings;
}

export function runningTasks(config: VmConfig, opts: RunningOptions): TaskDef[] {
  const vm = config.vm_name;
  return [
    bootTask(config, {
      root: opts.root,
      buildDir: opts.buildDir,
      accel: opts.accel,
      diskPath: diskPath(opts.buildDir, vm),
      installTask: `${vm}.install`,
    }),
    limitTask(config, {
      buildDir: opts.buildDir,
      mechanism: opts.fleet.cap_mechanism,
      bootTask: `${vm}.boot`,
    }),
  ];
}
