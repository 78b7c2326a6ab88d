/**
 * This step writes one VM's resolved configuration and identity to
 * build/vm_configs/vm-N.json (mode 0600: it holds the VNC password). The
 * identity was resolved at load time from what is stored, so rewriting it
 * changes nothing unless fleet.yaml changed.
 */
import type { TaskDef } from '../engine/types.ts';
import type { VmConfig } from './config-types.ts';
import { writeVmConfig } from './fleet-store.ts';

export function configTask(config: VmConfig): TaskDef {
  return {
    name: `${config.vm_name}.config`,
    group: config.vm_name,
    kind: 'vm-config',
    kindVersion: 1,
    description: `writes build/vm_configs/${config.vm_name}.json`,
    inputs: { values: { config } },
    outputs: [`build/vm_configs/${config.vm_name}.json`],
    async run(ctx) {
      const changed = await writeVmConfig(ctx.buildDir, config);
      ctx.log(changed ? 'configuration written' : 'configuration already up to date');
    },
  };
}
