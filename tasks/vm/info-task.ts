/**
 * This step writes the fleet summary the user reads: build/output/vm_info.txt
 * (CSV) and vm_info.json, both mode 0600 because they list VNC passwords.
 */
import type { TaskDef } from '../engine/types.ts';
import type { VmConfig } from './config-types.ts';
import { vmInfoPaths, writeVmInfo } from './vm-info.ts';

export function infoTask(configs: VmConfig[]): TaskDef {
  return {
    name: 'info',
    kind: 'fleet-info',
    kindVersion: 1,
    description: 'writes build/output/vm_info.txt and vm_info.json',
    deps: configs.map((c) => `${c.vm_name}.config`),
    inputs: { files: configs.map((c) => `build/vm_configs/${c.vm_name}.json`) },
    outputs: ['build/output/vm_info.txt', 'build/output/vm_info.json'],
    async run(ctx) {
      await writeVmInfo(ctx.buildDir, configs);
      const { txt } = vmInfoPaths(ctx.buildDir);
      ctx.log(`wrote ${txt} for ${configs.length} VMs`);
    },
  };
}
