/**
 * Where each VM's files live under build/. One place, so tasks, status and
 * destroy agree.
 */
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
