/**
 * Where each VM's files live under build/. One place, so tasks, status and
 * destroy agree.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

export function diskPath(buildDir: string, vmName: string): string {
  return join(buildDir, 'disks', `${vmName}.qcow2`);
}

export function installPaths(buildDir: string, vmName: string) {
  const runDir = join(buildDir, 'run');
  return {
    diskDir: join(buildDir, 'disks'),
    disk: diskPath(buildDir, vmName),
    /** The disk while it is being installed; never booted. */
    partial: join(buildDir, 'disks', `${vmName}.qcow2.partial`),
    runDir,
    secret: join(runDir, `${vmName}.install.vncpass`),
    qmp: join(runDir, `${vmName}.install.qmp`),
    serialLog: join(buildDir, 'logs', `${vmName}.install.log`),
    setupLog: join(buildDir, 'logs', `${vmName}.setup.log`),
  };
}

/**
 * Creates `dir` for the owner only (0700), also when it already existed:
 * build/run holds QMP sockets and secrets, build/disks the guests' disks
 * with their VPN keys and VNC passwords.
 */
export async function privateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}
