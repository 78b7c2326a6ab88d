/**
 * The verdict on one finished install: success only when QEMU exited
 * cleanly AND the guest reported success; then the disk is renamed into
 * place. Otherwise a TaskFailure that names the VM, says what happened and
 * shows the last lines of the log that tells why.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename } from 'node:fs/promises';
import { TaskFailure } from '../engine/errors.ts';
import type { ExecResult } from '../engine/process.ts';
import type { TaskContext } from '../engine/types.ts';
import type { VmConfig } from './config-types.ts';
import type { GuestReport } from './install-server.ts';
import type { installPaths } from './paths.ts';

export interface InstallEnd {
  qemu: ExecResult;
  report?: GuestReport;
  paths: ReturnType<typeof installPaths>;
}

export async function judge(
  ctx: TaskContext,
  vmName: string,
  config: VmConfig,
  r: InstallEnd,
) {
  const serialTail = async () =>
    (await readFile(r.paths.serialLog, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .slice(-15);
  const guestTail = (r.report?.log ?? '').split('\n').filter(Boolean).slice(-20);

  if (r.report?.status === 'failure') {
    throw new TaskFailure(
      `${vmName}: the guest reported that its setup failed; last lines of its setup log (full log: ${r.paths.setupLog}):`,
      guestTail,
    );
  }
  if (r.qemu.timedOut) {
    throw new TaskFailure(
      `${vmName}: the install did not finish within ${config.install_timeout_minutes} minutes and was stopped; ` +
        `raise installer.timeout_minutes in fleet.yaml if the host is slow, else read ${r.paths.serialLog}. Last console lines:`,
      await serialTail(),
    );
  }
  if (r.qemu.code !== 0) {
    throw new TaskFailure(
      `${vmName}: qemu-system-x86_64 exited with status ${r.qemu.code ?? r.qemu.signal}:`,
      r.qemu.tail,
    );
  }
  if (!r.report) {
    throw new TaskFailure(
      `${vmName}: QEMU exited but the guest never reported; the installer may have refused its command line ` +
        `or failed before the setup script ran. Last console lines (${r.paths.serialLog}):`,
      await serialTail(),
    );
  }

  await rename(r.paths.partial, r.paths.disk);
  ctx.log(`${vmName}: installed; disk ${r.paths.disk}`);
  return {
    installId: randomBytes(8).toString('hex'),
    installedAt: new Date().toISOString(),
  };
}
