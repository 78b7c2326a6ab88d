/**
 * The cgroup v1 mechanism (hybrid hosts, where the cpu controller is bound to
 * v1): a CFS quota on the VM's cgroup in the cpu hierarchy. The quota is
 * precise and leaves QEMU runnable, unlike cpulimit (INSTALLERS.md).
 */
import { access, constants, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { threadIds } from './procfs.ts';
import {
  cgroupOf,
  listIds,
  readControl,
  removeGroup,
  v1CpuMount,
  writeControl,
} from './cgroup-fs.ts';
import {
  CFS_PERIOD_US,
  capGroup,
  quotaFor,
  type CapBackend,
  type CapReading,
} from './types.ts';

/** The cgroup v1 cpu-controller mechanism. */
export const cgroupV1: CapBackend = {
  kind: 'cgroup-v1',

  async unavailable() {
    const mount = await v1CpuMount();
    if (!mount)
      return 'no cgroup v1 hierarchy with the cpu controller is mounted (see /proc/mounts)';
    try {
      await access(mount, constants.W_OK);
    } catch {
      return `${mount} is not writable: run as root`;
    }
    return undefined;
  },

  async apply(target, log) {
    const mount = await requireMount();
    const group = join(mount, capGroup(target.buildDir, target.vmId));
    const quota = quotaFor(target.percent);
    await mkdir(group, { recursive: true });
    await writeControl(group, 'cpu.cfs_period_us', String(CFS_PERIOD_US));
    await writeControl(group, 'cpu.cfs_quota_us', String(quota));

    // In v1 too, cgroup.procs moves every thread of the process. Threads
    // QEMU starts later inherit the cgroup of the thread that starts them.
    await writeControl(group, 'cgroup.procs', String(target.pid));
    const inGroup = new Set(await listIds(group, 'tasks'));
    const missing = (await threadIds(target.pid)).filter((tid) => !inGroup.has(tid));
    for (const tid of missing) await writeControl(group, 'tasks', String(tid));

    const threads = await threadIds(target.pid);
    const tasks = new Set(await listIds(group, 'tasks'));
    const reading = await readGroup(group);
    log(
      `cgroup-v1: ${group}: ${reading?.value ?? 'unreadable'}; ` +
        `${threads.filter((t) => tasks.has(t)).length} of ${threads.length} QEMU threads in tasks`,
    );
    return {
      mechanism: 'cgroup-v1',
      pid: target.pid,
      percent: target.percent,
      value: `${quota} ${CFS_PERIOD_US}`,
      group,
    };
  },

  async check(target, record) {
    const mount = await v1CpuMount();
    if (!mount)
      return { fresh: false, reason: 'the cgroup v1 cpu hierarchy is no longer mounted' };
    const rel = '/' + capGroup(target.buildDir, target.vmId);
    if ((await cgroupOf(target.pid, 'cpu')) !== rel) {
      return {
        fresh: false,
        reason: `QEMU (pid ${target.pid}) is not in cgroup ${mount}${rel}`,
      };
    }
    const dir = join(mount, rel);
    const quota = Number(await readControl(dir, 'cpu.cfs_quota_us'));
    const period = Number(await readControl(dir, 'cpu.cfs_period_us'));
    if (
      quota !== quotaFor(target.percent) ||
      period !== CFS_PERIOD_US ||
      record.percent !== target.percent
    ) {
      const expected = `${quotaFor(target.percent)} per ${CFS_PERIOD_US}`;
      return {
        fresh: false,
        reason: `${dir} has quota ${quota} per ${period} µs, expected ${expected}`,
      };
    }
    return { fresh: true };
  },

  async read(pid) {
    const mount = await v1CpuMount();
    const rel = await cgroupOf(pid, 'cpu');
    if (!mount || rel === undefined) return undefined;
    return readGroup(join(mount, rel));
  },

  async remove(vmId, buildDir) {
    const mount = await v1CpuMount();
    if (mount) await removeGroup(mount, buildDir, vmId);
  },
};

async function requireMount(): Promise<string> {
  const mount = await v1CpuMount();
  if (!mount)
    throw new Error('no cgroup v1 hierarchy with the cpu controller is mounted');
  return mount;
}

/** The group's CFS quota, or undefined when it has none (quota -1). */
async function readGroup(group: string): Promise<CapReading | undefined> {
  const quota = Number(await readControl(group, 'cpu.cfs_quota_us'));
  const period = Number(await readControl(group, 'cpu.cfs_period_us'));
  if (!(quota > 0) || !(period > 0)) return undefined;
  return {
    mechanism: 'cgroup-v1',
    percent: Math.round((quota / period) * 1000) / 10,
    value: `cpu.cfs_quota_us=${quota} cpu.cfs_period_us=${period}`,
    where: group,
  };
}
