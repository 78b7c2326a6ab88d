/**
 * The QEMU plugin: reads the fleet, resolves each VM's identity and defines
 * the targets (vm-N.config, iso, vm-N.install, vm-N.boot, vm-N.limit, info)
 * on top of the engine. It never hashes, schedules or stores state itself.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../engine/errors.ts';
import { exists } from '../engine/fs-util.ts';
import type { Plugin, PluginContext, TaskDef } from '../engine/types.ts';
import { resolveAccel } from './accel.ts';
import { registerCommands } from './commands.ts';
import type { VmConfig } from './config-types.ts';
import { configTask } from './config-task.ts';
import { loadFleet } from './fleet.ts';
import { readStoredConfigs } from './fleet-store.ts';
import { resolveConfigs } from './identity.ts';
import { infoTask } from './info-task.ts';
import { installTask } from './install-task.ts';
import { isoTask } from './iso-task.ts';
import { preflight } from './preflight.ts';
import { runningTasks } from './running-tasks.ts';

/** The templates shipped with the tool. */
export const TEMPLATES_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '../../templates',
);

/** A project's own templates/ folder wins over the shipped one, so users can adapt them. */
async function templatesFor(root: string): Promise<string> {
  const own = join(root, 'templates');
  return (await exists(join(own, 'setup_vm_in_guest.sh'))) ? own : TEMPLATES_DIR;
}

/** The fleet's configs, resolved once per invocation. */
export async function loadConfigs(
  ctx: PluginContext,
): Promise<{ configs: VmConfig[]; fleet: Awaited<ReturnType<typeof loadFleet>> }> {
  const fleet = await loadFleet(ctx.root);
  const stored = await readStoredConfigs(ctx.buildDir);
  for (const warning of stored.warnings)
    ctx.reporter.emit({ type: 'warning', message: warning });
  const configs = resolveConfigs(fleet.settings, fleet.specs, stored.configs);
  return { configs, fleet };
}

let loaded: VmConfig[] = [];

export const vmPlugin: Plugin = {
  name: 'qemu-vm',

  async load(ctx) {
    const { configs, fleet } = await loadConfigs(ctx);
    loaded = configs;
    const isos = new Set(configs.map((c) => c.iso_path));
    if (isos.size > 1) {
      throw new ConfigError(
        `every VM must use the same installer ISO, but fleet.yaml names ${[...isos].join(', ')}; ` +
          `set iso_path once for the whole fleet`,
        { file: 'fleet.yaml' },
        'iso_path',
      );
    }
    const accel = await resolveAccel(fleet.settings.accel);
    const templatesDir = await templatesFor(ctx.root);
    const first = configs[0]!;
    const tasks: TaskDef[] = [
      isoTask({ isoPath: first.iso_path, override: first.installer_flavour }),
    ];
    for (const config of configs) {
      const vm = config.vm_name;
      tasks.push(configTask(config));
      tasks.push(
        installTask({
          config,
          vmName: vm,
          accel,
          templatesDir,
          deps: ['iso'],
          after: [`${vm}.config`],
        }),
      );
      tasks.push(
        ...runningTasks(config, {
          root: ctx.root,
          buildDir: ctx.buildDir,
          accel,
          fleet: fleet.settings,
        }),
      );
    }
    tasks.push(infoTask(configs));
    return tasks;
  },

  preflight: (ctx, tasks) => preflight(ctx, tasks, loaded),

  commands: registerCommands,
};
