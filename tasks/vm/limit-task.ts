/**
 * This step caps a running VM's CPU: `vm-N.limit` puts vm-N's QEMU under
 * `cpu_limit_percent` of one core with the chosen mechanism (see
 * cpu-cap/), reads the cap back, and is fresh only while that cap holds
 * that very QEMU process.
 */
import { resolve } from 'node:path';
import { TaskFailure } from '../engine/errors.ts';
import type { TaskDef } from '../engine/types.ts';
import type { CapMechanism, VmConfig } from './config-types.ts';
import { CAP_BACKENDS, capBackend, pickBackend, readCaps } from './cpu-cap/pick.ts';
import type { CapRecord, CapTarget } from './cpu-cap/types.ts';
import { findRunningQemu } from './vm-process.ts';

export interface LimitTaskOptions {
  buildDir: string;
  /** The fleet's `cap_mechanism`; `auto` picks the first the host allows. */
  mechanism: CapMechanism;
  /** The task that boots the VM: `vm-N.boot`. */
  bootTask: string;
}

/** The `vm-N.limit` task. */
export function limitTask(config: VmConfig, opts: LimitTaskOptions): TaskDef {
  const vm = `vm-${config.vm_id}`;
  const buildDir = resolve(opts.buildDir);
  const runDir = resolve(buildDir, 'run');
  const target = (pid: number): CapTarget => ({
    vmId: config.vm_id,
    pid,
    percent: config.cpu_limit_percent,
    buildDir,
  });

  return {
    name: `${vm}.limit`,
    group: vm,
    kind: 'vm-limit',
    kindVersion: 1,
    description: `caps ${vm} at ${config.cpu_limit_percent}% of one core (${opts.mechanism})`,
    deps: [opts.bootTask],
    inputs: { values: { percent: config.cpu_limit_percent, mechanism: opts.mechanism } },

    async probe(ctx) {
      const record = ctx.record as CapRecord | undefined;
      if (!record?.mechanism) return { fresh: false, reason: 'no cap was recorded' };
      const qemu = await findRunningQemu(config, runDir);
      if (!qemu) return { fresh: false, reason: `${vm} is not running` };
      if (qemu.pid !== record.pid) {
        return {
          fresh: false,
          reason: `the cap was set on QEMU pid ${record.pid}, but ${vm} now runs as pid ${qemu.pid}`,
        };
      }
      return capBackend(record.mechanism).check(target(qemu.pid), record);
    },

    async run(ctx) {
      if (!(config.cpu_limit_percent > 0)) {
        throw new TaskFailure(
          `${vm}: cpu_limit_percent must be above 0 (80 = 80% of one core), got ${config.cpu_limit_percent}; fix it in fleet.yaml`,
        );
      }
      const qemu = await findRunningQemu(config, runDir);
      if (!qemu) {
        throw new TaskFailure(
          `${vm} is not running (no live QEMU named by build/run/${vm}.pid); run '${opts.bootTask}' first`,
        );
      }
      const picked = await pickBackend(opts.mechanism);
      if ('reasons' in picked) {
        throw new TaskFailure(
          `${vm}: no CPU cap mechanism can be used (cap_mechanism: ${opts.mechanism}). Install cpulimit, run as root, or choose another cap_mechanism in fleet.yaml`,
          picked.reasons,
        );
      }
      const { backend } = picked;

      // A cap left by another mechanism (the setting changed) would cap twice.
      for (const other of CAP_BACKENDS.filter((b) => b !== backend)) {
        await other.remove(config.vm_id, buildDir, qemu.pid).catch((err: Error) => {
          ctx.log(`${vm}: could not lift an old ${other.kind} cap: ${err.message}`);
        });
      }

      ctx.phase(`capping at ${config.cpu_limit_percent}% with ${backend.kind}`);
      let record: CapRecord;
      try {
        record = await backend.apply(target(qemu.pid), ctx.log);
      } catch (err) {
        throw new TaskFailure(
          `${vm}: applying the ${backend.kind} cap failed: ${(err as Error).message}`,
        );
      }
      for (const reading of await readCaps(qemu.pid)) {
        ctx.log(
          `${vm}: read back ${reading.mechanism} ${reading.percent}% (${reading.value}) at ${reading.where}`,
        );
      }
      return record;
    },
  };
}
