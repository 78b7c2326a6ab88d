/**
 * Checks made before `run` starts any work, so a missing ISO, VPN profile or
 * program stops the run at once (exit 2) with every problem named, and
 * nothing in build/ is touched.
 */
import { exists } from '../engine/fs-util.ts';
import { join } from 'node:path';
import { ConfigError, ConfigErrors } from '../engine/errors.ts';
import type { PluginContext, TaskDef } from '../engine/types.ts';
import type { VmConfig } from './config-types.ts';
import { distance } from 'fastest-levenshtein';
import { knownCpuModelNames } from './cpu-models.ts';
import { checkPortsFree, describeConflict } from './ports.ts';
import { missingPrograms } from './programs.ts';
import { findRunningQemu } from './vm-process.ts';

export async function preflight(
  ctx: PluginContext,
  tasks: TaskDef[],
  configs: VmConfig[],
): Promise<void> {
  const byName = new Map(configs.map((c) => [c.vm_name, c]));
  const errors: ConfigError[] = [];
  const kinds = new Set(tasks.map((t) => t.kind));
  const installs = tasks.filter((t) => t.kind === 'vm-install');

  const needed = ['qemu-system-x86_64', 'qemu-img'];
  if (kinds.has('iso')) needed.push('xorriso');
  if (tasks.some((t) => t.kind === 'vm-limit')) needed.push('cpulimit');
  for (const missing of await missingPrograms(needed, ctx)) {
    errors.push(
      new ConfigError(
        `${missing.program} is not installed; install it with: ${missing.fix}`,
        { file: 'host' },
      ),
    );
  }

  for (const task of installs) {
    const config = byName.get(task.group!);
    if (!config) continue;
    if (!(await exists(join(ctx.root, config.openvpn_config_file)))) {
      errors.push(
        new ConfigError(
          `${task.group}'s OpenVPN profile ${config.openvpn_config_file} does not exist; ` +
            `put the profile there, or set openvpn_config_file for ${task.group} in fleet.yaml`,
          { file: config.openvpn_config_file },
        ),
      );
    }
  }
  const isoPath = configs[0]?.iso_path;
  if (
    (kinds.has('iso') || installs.length) &&
    isoPath &&
    !(await exists(join(ctx.root, isoPath)))
  ) {
    errors.push(
      new ConfigError(
        `the installer ISO ${isoPath} does not exist; copy your Ubuntu Desktop ISO there, ` +
          `or set iso_path in fleet.yaml`,
        { file: isoPath },
      ),
    );
  }
  errors.push(
    ...(await portConflicts(
      ctx,
      tasks.filter((t) => t.kind === 'vm-boot'),
      byName,
    )),
  );
  if (
    errors.length === 0 &&
    tasks.some((t) => t.kind === 'vm-install' || t.kind === 'vm-boot')
  ) {
    errors.push(
      ...(await unknownCpuModels(
        ctx,
        configs.filter((c) => tasks.some((t) => t.group === c.vm_name)),
      )),
    );
  }
  if (errors.length) throw new ConfigErrors(errors);
}

/**
 * Ports a VM to be booted needs that another program holds: said before
 * anything starts, naming the port and, where /proc tells, the process.
 */
async function portConflicts(
  ctx: PluginContext,
  boots: TaskDef[],
  byName: Map<string, VmConfig>,
): Promise<ConfigError[]> {
  const errors: ConfigError[] = [];
  for (const task of boots) {
    const config = byName.get(task.group!);
    if (!config || (await findRunningQemu(config, join(ctx.buildDir, 'run')))) continue;
    const conflicts = await checkPortsFree(
      [config.vnc_port_host, config.vnc_port_console],
      config.listen_address,
    );
    for (const conflict of conflicts) {
      errors.push(
        new ConfigError(`${config.vm_name} cannot start: ${describeConflict(conflict)}`, {
          file: 'fleet.yaml',
        }),
      );
    }
  }
  return errors;
}

/** A model QEMU does not know would fail only when the VM starts: say so now. */
async function unknownCpuModels(
  ctx: PluginContext,
  configs: VmConfig[],
): Promise<ConfigError[]> {
  if (configs.length === 0) return [];
  const known = await knownCpuModelNames(ctx.buildDir);
  const names = [...known];
  return configs
    .filter((c) => !known.has(c.cpu_model))
    .map(
      (c) =>
        new ConfigError(
          `QEMU does not know the CPU model '${c.cpu_model}' (closest: ${closestNames(c.cpu_model, names)}); ` +
            `pick one from 'qemu-system-x86_64 -cpu help'`,
          { file: 'fleet.yaml' },
          `${c.vm_name}.cpu_model`,
        ),
    );
}

function closestNames(word: string, names: string[]): string {
  return [...names]
    .sort(
      (a, b) =>
        distance(word.toLowerCase(), a.toLowerCase()) -
        distance(word.toLowerCase(), b.toLowerCase()),
    )
    .slice(0, 3)
    .join(', ');
}
