/**
 * Stops a VM's running QEMU before its disk is replaced.
 */
import type { TaskContext } from '../engine/types.ts';
import type { VmConfig } from './config-types.ts';

export async function stopRunningVm(_ctx: TaskContext, _config: VmConfig): Promise<void> {}
