/**
 * This step boots an installed VM: `vm-N.boot` starts QEMU daemonized with
 * a pidfile and a QMP socket under build/run/, and is fresh only while that
 * very QEMU runs with the same arguments. A stale VM still running (its
 * config changed) is shut down first.
 */
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { TaskFailure } from '../engine/errors.ts';
import { exists, writeFileAtomic } from '../engine/fs-util.ts';
import { processStartTime } from '../engine/lock.ts';
import type { TaskContext, TaskDef } from '../engine/types.ts';
import { bootArgs, vmRunPaths } from './boot-args.ts';
import { sha256 } from '../engine/fingerprint.ts';
import { privateDir } from './paths.ts';
import type { DirectKernel, VmConfig } from './config-types.ts';
import { isAlive, readCmdline } from './cpu-cap/procfs.ts';
import { checkPortsFree, describeConflict } from './ports.ts';
import { qmpCommand } from './qmp.ts';
import { findRunningQemu, isOurQemu, readPidfile, stopVm } from './vm-process.ts';

export interface BootTaskOptions {
  root: string;
  buildDir: string;
  accel: 'kvm' | 'tcg';
  /** The installed disk: build/disks/vm-N.qcow2. */
  diskPath: string;
  /** Overrides the VM's `direct_kernel` setting (tests); absolute paths. */
  directKernel?: DirectKernel;
  /** The task that installs the disk: `vm-N.install`. */
  installTask: string;
}

/** What `vm-N.boot` records: which process it started, and from which argv. */
export interface BootRecord {
  [key: string]: unknown;
  pid: number;
  startTime: string;
  /** Hash of QEMU's argv; the probe compares it with /proc/PID/cmdline. */
  bootId: string;
}

/** How long a stale VM gets to shut down (ACPI) before QMP `quit`. */
export const RESTART_STOP_TIMEOUT_MS = 30_000;
// Unix socket paths hold at most 107 bytes (sun_path is 108 with the NUL).
const MAX_SOCKET_PATH = 107;

/** The `vm-N.boot` task. */
export function bootTask(config: VmConfig, opts: BootTaskOptions): TaskDef {
  const vm = `vm-${config.vm_id}`;
  const runDir = resolve(opts.buildDir, 'run');
  const paths = vmRunPaths(runDir, config.vm_id);
  const direct = opts.directKernel ?? absoluteKernel(config.direct_kernel, opts.root);
  const kernelFiles = direct ? [direct.kernel, direct.initrd] : [];
  const args = () =>
    bootArgs({
      config,
      disk: resolve(opts.diskPath),
      runDir,
      accel: opts.accel,
      secretFile: paths.secret,
      directKernel: direct,
    });
  // Set once this run has launched QEMU: cleanup must not leave it behind.
  let launched = false;

  return {
    name: `${vm}.boot`,
    group: vm,
    kind: 'vm-boot',
    kindVersion: 1,
    description: `starts ${vm} daemonized (QEMU, ${opts.accel})`,
    deps: [opts.installTask],
    inputs: {
      files: kernelFiles,
      // A changed VNC password restarts the VM; only its digest is stored, never the password.
      values: {
        vncPassword: sha256(`qvm-vnc:${config.vnc_password}`),
        ...bootValues(config),
        accel: opts.accel,
        disk: relative(opts.root, resolve(opts.diskPath)),
        directKernel: direct ?? null,
      },
    },

    async probe(ctx) {
      const record = ctx.record as BootRecord | undefined;
      if (!record?.pid) return { fresh: false, reason: 'no QEMU process was recorded' };
      if (!(await isAlive(record.pid))) {
        return { fresh: false, reason: `its QEMU (pid ${record.pid}) is not running` };
      }
      if (!(await isOurQemu(record.pid, config, runDir, record.startTime))) {
        return {
          fresh: false,
          reason: `pid ${record.pid} is no longer its QEMU (the pid was reused)`,
        };
      }
      const argv = (await readCmdline(record.pid)) ?? [];
      if (argvHash(argv.slice(1)) !== record.bootId) {
        return {
          fresh: false,
          reason: `its QEMU (pid ${record.pid}) was started with other arguments`,
        };
      }
      return { fresh: true };
    },

    async run(ctx) {
      launched = false;
      await privateDir(runDir);
      await mkdir(join(opts.buildDir, 'logs'), { recursive: true });
      // QEMU keeps the mode of an existing file: the guest console is for the owner only.
      await writeFile(paths.consoleLog, '', { mode: 0o600, flag: 'a' });
      await chmod(paths.consoleLog, 0o600);
      await preflight(ctx, config, opts, runDir, paths.qmp);

      ctx.phase('starting QEMU');
      let argv: string[];
      try {
        argv = args();
      } catch (err) {
        throw new TaskFailure(`${vm}: ${(err as Error).message}; fix it in fleet.yaml`);
      }
      await writeFileAtomic(paths.secret, config.vnc_password, 0o600, false);
      launched = true;
      let result;
      try {
        result = await ctx.exec('qemu-system-x86_64', argv, {
          logFile: paths.qemuLog,
          timeoutMs: 60_000,
        });
      } finally {
        // QEMU read the secret object while starting; the file is no longer needed.
        await rm(paths.secret, { force: true });
      }
      const warnings = result.tail.filter((l) => l.includes('warning:')).length;
      if (warnings > 0)
        ctx.log(`${vm}: QEMU printed ${warnings} warnings, see ${paths.qemuLog}`);
      if (result.code !== 0) {
        throw new TaskFailure(
          `qemu-system-x86_64 exited with status ${result.code ?? result.signal} while starting ${vm}; its output is in ${paths.qemuLog}`,
          result.tail.slice(-10),
        );
      }

      const pid = await readPidfile(paths.pidfile);
      const startTime = pid === undefined ? undefined : await processStartTime(pid);
      if (pid === undefined || startTime === undefined) {
        throw new TaskFailure(
          `QEMU for ${vm} started but ${paths.pidfile} names no live process; see ${paths.qemuLog}`,
        );
      }

      ctx.phase('asking QMP for the run state');
      const status = await qmpCommand<{ status: string }>(
        paths.qmp,
        'query-status',
      ).catch((err: Error) => ({ status: `unknown (${err.message})` }));
      if (status.status !== 'running') {
        throw new TaskFailure(
          `${vm}: QEMU (pid ${pid}) started, but QMP reports '${status.status}' instead of 'running'; see ${paths.consoleLog}`,
        );
      }
      ctx.log(
        `${vm}: QEMU pid ${pid} running; console VNC ${config.listen_address}:${config.vnc_port_console}, ` +
          `guest VNC ${config.listen_address}:${config.vnc_port_host}`,
      );
      const record: BootRecord = { pid, startTime, bootId: argvHash(argv) };
      return record;
    },

    // A QEMU this run launched but did not confirm (failure, Ctrl-C) is
    // stopped: the engine records nothing for it, so nobody else would. Any
    // older QEMU of this VM was stopped before the launch.
    async cleanup(_ctx, outcome) {
      await rm(paths.secret, { force: true });
      if (outcome === 'success' || !launched) return;
      await stopVm(config, runDir, 0).catch(() => undefined);
    },
  };
}

/** Stops a stale QEMU of this VM, then checks ports, disk and socket path. */
async function preflight(
  ctx: TaskContext,
  config: VmConfig,
  opts: BootTaskOptions,
  runDir: string,
  qmpPath: string,
): Promise<void> {
  const vm = `vm-${config.vm_id}`;
  const running = await findRunningQemu(config, runDir);
  if (running) {
    ctx.phase('stopping the VM started from older inputs');
    const stopped = await stopVm(config, runDir, RESTART_STOP_TIMEOUT_MS);
    ctx.log(
      `${vm}: stopped QEMU pid ${running.pid} (${stopped.how}, ${stopped.durationMs} ms)`,
    );
  } else {
    await stopVm(config, runDir, 0); // clears a stale pidfile, socket and helper
  }

  if (!(await exists(opts.diskPath))) {
    throw new TaskFailure(
      `${vm}: its disk ${opts.diskPath} is missing; run '${opts.installTask}' to install it`,
    );
  }
  if (Buffer.byteLength(qmpPath) > MAX_SOCKET_PATH) {
    throw new TaskFailure(
      `${vm}: the QMP socket path ${qmpPath} is longer than ${MAX_SOCKET_PATH} bytes, the limit for unix sockets; move the project to a shorter path`,
    );
  }
  const ports = [config.vnc_port_host, config.vnc_port_console];
  const conflicts = await checkPortsFree(ports, config.listen_address);
  if (conflicts.length > 0) {
    throw new TaskFailure(
      `${vm} cannot start: ${conflicts.map(describeConflict).join('; ')}. Stop that process or choose other ports in fleet.yaml`,
    );
  }
}

/** The config fields that change what the booted VM is. */
function bootValues(config: VmConfig): Record<string, unknown> {
  const { mac_address, uuid, bios_serial, cpu_model, vcpus, ram_size_mb } = config;
  const { listen_address, vnc_port_host, vnc_port_console } = config;
  return {
    mac_address,
    uuid,
    bios_serial,
    cpu_model,
    vcpus,
    ram_size_mb,
    listen_address,
    vnc_port_host,
    vnc_port_console,
  };
}

/** The fleet's `direct_kernel` (paths relative to the root) with absolute paths. */
function absoluteKernel(
  setting: DirectKernel | null,
  root: string,
): DirectKernel | undefined {
  if (!setting) return undefined;
  return {
    ...setting,
    kernel: resolve(root, setting.kernel),
    initrd: resolve(root, setting.initrd),
  };
}

function argvHash(argv: string[]): string {
  return sha256(argv.join('\0')).slice(0, 16);
}
