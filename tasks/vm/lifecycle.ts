/**
 * `stop` and `destroy` for a set of VMs. Stop ends each VM's QEMU (ACPI
 * power button, then QMP quit, then SIGKILL) and its cpulimit helper.
 * Destroy also removes what the VM's running and install left behind: its
 * disk, runtime files, task state and cgroups. Neither touches other VMs.
 */
import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { vmRunPaths } from './boot-args.ts';
import type { VmConfig } from './config-types.ts';
import { CAP_BACKENDS } from './cpu-cap/pick.ts';
import { stopVm, type StopResult } from './vm-process.ts';

/** What `destroyVms` did to one VM. */
export interface DestroyResult {
  vm: string;
  stop: StopResult;
  /** Paths removed, relative to the build directory. */
  removed: string[];
}

/** Default time a guest gets to power off after the ACPI power button. */
export const STOP_TIMEOUT_MS = 60_000;

/** Stops every VM in `configs` at once; each gets `timeoutMs` to power off. */
export async function stopVms(
  configs: VmConfig[],
  buildDir: string,
  timeoutMs = STOP_TIMEOUT_MS,
): Promise<StopResult[]> {
  const runDir = join(resolve(buildDir), 'run');
  return Promise.all(configs.map((config) => stopVm(config, runDir, timeoutMs)));
}

/**
 * Stops each VM at once (no graceful shutdown: its disk is about to go),
 * then removes its disk, runtime files, task state files
 * (build/.state/tasks/vm-N.*.json) and cgroups. Configs and logs stay.
 */
export async function destroyVms(
  configs: VmConfig[],
  buildDir: string,
): Promise<DestroyResult[]> {
  const build = resolve(buildDir);
  return Promise.all(configs.map((config) => destroyVm(config, build)));
}

async function destroyVm(config: VmConfig, buildDir: string): Promise<DestroyResult> {
  const vm = `vm-${config.vm_id}`;
  const runDir = join(buildDir, 'run');
  const stop = await stopVm(config, runDir, 0);

  for (const backend of CAP_BACKENDS) await backend.remove(config.vm_id, buildDir);

  const paths = vmRunPaths(runDir, config.vm_id);
  const stateDir = join(buildDir, '.state', 'tasks');
  // `vm-1.` with its dot: vm-10's files start with `vm-1` but not `vm-1.`.
  const stateFiles = (await readdir(stateDir).catch(() => [] as string[]))
    .filter((name) => name.startsWith(`${vm}.`) && name.endsWith('.json'))
    .map((name) => join(stateDir, name));
  const candidates = [
    join(buildDir, 'disks', `${vm}.qcow2`),
    paths.pidfile,
    paths.qmp,
    paths.secret,
    paths.helperPidfile,
    ...stateFiles,
  ];

  const removed: string[] = [];
  for (const file of candidates) {
    const existed = await rm(file).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw new Error(`cannot remove ${file} (${err.code}): ${err.message}`);
      },
    );
    if (existed) removed.push(file.slice(buildDir.length + 1));
  }
  return { vm, stop, removed };
}
