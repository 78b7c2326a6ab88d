/**
 * Where each VM's files live under build/. One place, so tasks, status and
 * destroy agree.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TaskFailure } from '../engine/errors.ts';
import type { VmConfig } from './config-types.ts';

export function vmConfigFile(buildDir: string, vmName: string): string {
  return join(buildDir, 'vm_configs', `${vmName}.json`);
}

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

/** Reads build/vm_configs/vm-N.json, written by vm-N.config. */
export async function readVmConfig(root: string, vmName: string): Promise<VmConfig> {
  const file = vmConfigFile(join(root, 'build'), vmName);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as VmConfig;
  } catch (err) {
    throw new TaskFailure(`cannot read ${file} (${(err as Error).message}); run ${vmName}.config first`);
  }
}
