/**
 * Stops a VM's running QEMU before its disk is replaced by a new install:
 * ACPI power-down, a bounded wait, then forced.
 */
import { join } from 'node:path';
import type { TaskContext } from '../engine/types.ts';
import { RESTART_STOP_TIMEOUT_MS } from './boot-task.ts';
import type { VmConfig } from './config-types.ts';
import { stopVm } from './vm-process.ts';

export async function stopRunningVm(ctx: TaskContext, config: VmConfig): Promise<void> {
  const result = await stopVm(config, join(ctx.buildDir, 'run'), RESTART_STOP_TIMEOUT_MS);
  if (result.how !== 'not-running') {
    ctx.log(
      `stopped the running ${config.vm_name} (pid ${result.pid}, ${result.how}) before reinstalling it`,
    );
  }
}
