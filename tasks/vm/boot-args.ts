/**
 * The argv that boots an installed VM. Pure: the same spec always gives the
 * same argv, so the boot task can hash it and the probe can compare it with
 * /proc/PID/cmdline. The identity (MAC, SMBIOS serial and UUID, CPU model,
 * RAM) is exactly what the installer saw; facts: shared/reference/INSTALLERS.md.
 */
import { dirname, join } from 'node:path';
import type { DirectKernel, VmConfig } from './config-types.ts';
import { consoleVncArgs, machineArgs, qemuEscape, smbiosArgs } from './install-args.ts';

/** Everything `bootArgs` needs; paths should be absolute. */
export interface BootSpec {
  config: VmConfig;
  disk: string;
  runDir: string;
  accel: 'kvm' | 'tcg';
  /** File holding the VNC password; QEMU reads it once at startup. */
  secretFile: string;
  /** Boot this kernel instead of the disk's boot loader (tests, advanced fleets); absolute paths. */
  directKernel?: DirectKernel;
}

/** Where one VM's runtime files live. */
export interface VmRunPaths {
  pidfile: string;
  qmp: string;
  secret: string;
  /** pid of the cpulimit helper, when that mechanism caps the VM. */
  helperPidfile: string;
  /** The guest's serial console. */
  consoleLog: string;
  /** QEMU's own stderr (warnings about dropped CPU features land here). */
  qemuLog: string;
}

/** Runtime paths of vm-N under `runDir` (build/run); logs go to its sibling build/logs. */
export function vmRunPaths(runDir: string, vmId: number): VmRunPaths {
  const logs = join(dirname(runDir), 'logs');
  return {
    pidfile: join(runDir, `vm-${vmId}.pid`),
    qmp: join(runDir, `vm-${vmId}.qmp`),
    secret: join(runDir, `vm-${vmId}.vnc-secret`),
    helperPidfile: join(runDir, `vm-${vmId}.cpulimit.pid`),
    consoleLog: join(logs, `vm-${vmId}.console.log`),
    qemuLog: join(logs, `vm-${vmId}.qemu.log`),
  };
}

/** The `-name` value; `isOurQemu` looks for it in /proc/PID/cmdline. */
export function qemuName(vmId: number): string {
  return `vm-${vmId},process=qemu-vm-${vmId}`;
}

/**
 * qemu-system-x86_64 arguments for a daemonized VM with a pidfile, a QMP
 * socket, a password-protected VNC console and the guest's port 5900
 * forwarded to `vnc_port_host`. The password itself is never in the argv.
 */
export function bootArgs(spec: BootSpec): string[] {
  const { config, accel } = spec;
  const paths = vmRunPaths(spec.runDir, config.vm_id);
  const listen = config.listen_address;

  // prettier-ignore
  const args = [
    '-name', qemuName(config.vm_id),
    // Machine, CPU model, RAM and SMBIOS identity exactly as at install.
    ...machineArgs(config, accel),
    ...smbiosArgs(config),
    '-drive', `file=${qemuEscape(spec.disk)},format=qcow2,if=virtio`,
    // An empty host address would listen on 0.0.0.0: always name it.
    '-netdev', `user,id=net0,hostfwd=tcp:${listen}:${config.vnc_port_host}-:5900`,
    '-device', `virtio-net-pci,netdev=net0,mac=${config.mac_address}`,
    ...consoleVncArgs(config, spec.secretFile),
    '-display', 'none',
    // `file:` takes the rest of the value as the path, unescaped.
    '-serial', `file:${paths.consoleLog}`,
    '-qmp', `unix:${qemuEscape(paths.qmp)},server=on,wait=off`,
    '-pidfile', paths.pidfile,
    '-daemonize',
  ];
  if (spec.directKernel) {
    const { kernel, initrd, append } = spec.directKernel;
    args.push('-kernel', kernel, '-initrd', initrd, '-append', append);
  }
  return args;
}
