/**
 * A VM's QEMU process: find it from its pidfile, make sure a pid is really
 * ours (not a reused pid), and stop it: ACPI power button first, then QMP
 * `quit`, then SIGKILL, each bounded in time.
 */
import { readFile, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processStartTime } from '../engine/lock.ts';
import { qemuName, vmRunPaths } from './boot-args.ts';
import type { VmConfig } from './config-types.ts';
import { stopHelper } from './cpu-cap/cpulimit.ts';
import { isAlive, readCmdline } from './cpu-cap/procfs.ts';
import { qmpCommand } from './qmp.ts';

/** A live QEMU of ours and its kernel start time (field 22 of /proc/PID/stat). */
export interface QemuProcess {
  pid: number;
  startTime: string;
}

/** How `stopVm` ended the VM. */
export type StopHow = 'not-running' | 'powerdown' | 'quit' | 'kill';

export interface StopResult {
  vm: string;
  pid?: number;
  how: StopHow;
  durationMs: number;
}

const QUIT_WAIT_MS = 3000;
const KILL_WAIT_MS = 2000;

/** The pid in a pidfile, or undefined when it is missing or garbage. */
export async function readPidfile(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * True when `pid` is alive and is vm-N's QEMU of this build: its argv has
 * our `-name` and our pidfile and QMP socket paths, and, when `startTime`
 * is given, the kernel's start time matches (a reused pid has another).
 */
export async function isOurQemu(
  pid: number,
  config: VmConfig,
  runDir: string,
  startTime?: string,
): Promise<boolean> {
  if (!(await isAlive(pid))) return false;
  const argv = await readCmdline(pid);
  if (!argv) return false;

  const paths = vmRunPaths(resolve(runDir), config.vm_id);
  const after = (flag: string) => argv[argv.indexOf(flag) + 1];
  if (after('-name') !== qemuName(config.vm_id)) return false;
  if (after('-pidfile') !== paths.pidfile) return false;
  if (!after('-qmp')?.startsWith(`unix:${paths.qmp.replaceAll(',', ',,')},`))
    return false;
  return startTime === undefined || (await processStartTime(pid)) === startTime;
}

/** vm-N's running QEMU, from its pidfile, if there is one. */
export async function findRunningQemu(
  config: VmConfig,
  runDir: string,
): Promise<QemuProcess | undefined> {
  const pid = await readPidfile(vmRunPaths(resolve(runDir), config.vm_id).pidfile);
  if (pid === undefined || !(await isOurQemu(pid, config, runDir))) return undefined;
  const startTime = await processStartTime(pid);
  return startTime === undefined ? undefined : { pid, startTime };
}

/**
 * Stops vm-N: ends its cpulimit helper, presses the ACPI power button and
 * waits up to `timeoutMs` (0 skips it), then QMP `quit`, then SIGKILL.
 * Removes its pidfile, QMP socket and VNC secret file. Throws only if the
 * process survives SIGKILL.
 */
export async function stopVm(
  config: VmConfig,
  runDir: string,
  timeoutMs: number,
): Promise<StopResult> {
  const started = Date.now();
  const vm = `vm-${config.vm_id}`;
  const paths = vmRunPaths(resolve(runDir), config.vm_id);
  const qemu = await findRunningQemu(config, runDir);
  const done = async (how: StopHow): Promise<StopResult> => {
    for (const file of [paths.pidfile, paths.qmp, paths.secret])
      await rm(file, { force: true });
    return { vm, pid: qemu?.pid, how, durationMs: Date.now() - started };
  };

  // A QEMU that cpulimit has just stopped (SIGSTOP) would not see the button.
  await stopHelper(config.vm_id, dirname(resolve(runDir)), qemu?.pid);
  if (!qemu) return done('not-running');

  if (timeoutMs > 0) {
    const pressed = await qmpCommand(paths.qmp, 'system_powerdown').then(
      () => true,
      () => false,
    );
    if (pressed && (await waitForExit(qemu.pid, timeoutMs))) return done('powerdown');
  }
  await qmpCommand(paths.qmp, 'quit').catch(() => undefined);
  if (await waitForExit(qemu.pid, QUIT_WAIT_MS)) return done('quit');

  try {
    process.kill(qemu.pid, 'SIGKILL');
  } catch {
    // Exited meanwhile.
  }
  if (await waitForExit(qemu.pid, KILL_WAIT_MS)) return done('kill');
  throw new Error(
    `${vm}: QEMU (pid ${qemu.pid}) survived SIGKILL for ${KILL_WAIT_MS} ms; it may be stuck in the kernel (see 'cat /proc/${qemu.pid}/stack') and must be stopped by hand`,
  );
}

/** Polls until `pid` has exited (or is a zombie); false after `ms`. */
export async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (await isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}
