/**
 * The qemu-system-x86_64 command line for one unattended install: the VM's
 * identity, the ISO as CD-ROM (casper finds its live system there), the
 * installer's own kernel booted with the flavour's command line, and
 * -no-reboot so the end of the install ends QEMU.
 */
import type { VmConfig } from './config-types.ts';

export interface InstallArgsSpec {
  config: VmConfig;
  accel: 'kvm' | 'tcg';
  disk: string;
  iso: string;
  kernel: string;
  initrd: string;
  append: string;
  serialLog: string;
  qmpSocket: string;
  /** File holding the console VNC password (QEMU secret object). */
  vncSecretFile: string;
}

/** QEMU option values escape commas by doubling them. */
export function qemuEscape(value: string): string {
  return value.replaceAll(',', ',,');
}

/** `-smbios type=1` with serial and UUID; one UUID source only (INSTALLERS.md). */
export function smbiosArgs(config: VmConfig): string[] {
  return [
    '-smbios',
    `type=1,serial=${qemuEscape(config.bios_serial)},uuid=${config.uuid}`,
  ];
}

/** The CPU model: under TCG named models drop features with warnings; never `enforce` there. */
export function machineArgs(config: VmConfig, accel: 'kvm' | 'tcg'): string[] {
  // prettier-ignore
  return [
    // Install and boot use the same board, so the guest sees the same machine.
    '-machine', 'pc',
    '-accel', accel,
    '-cpu', config.cpu_model,
    '-smp', String(config.vcpus),
    '-m', String(config.ram_size_mb),
  ];
}

/** QEMU's VNC console, its password read from a secret file (never the command line). */
export function consoleVncArgs(config: VmConfig, secretFile: string): string[] {
  const display = config.vnc_port_console - 5900;
  if (display < 0) {
    throw new Error(
      `vnc_port_console: expected a port of 5900 or above (VNC display = port - 5900), got ${config.vnc_port_console}`,
    );
  }
  // An IPv6 listen address is bracketed in -vnc.
  const host = config.listen_address.includes(':')
    ? `[${config.listen_address}]`
    : config.listen_address;
  // prettier-ignore
  return [
    '-object', `secret,id=vncsec,file=${qemuEscape(secretFile)}`,
    '-vnc', `${host}:${display},password-secret=vncsec`,
  ];
}

export function installArgs(spec: InstallArgsSpec): string[] {
  const { config } = spec;
  // prettier-ignore
  return [
    '-name', `${config.vm_name}-install,process=qemu-${config.vm_name}-install`,
    ...machineArgs(config, spec.accel),
    ...smbiosArgs(config),
    '-drive', `file=${qemuEscape(spec.disk)},if=virtio,format=qcow2,cache=unsafe`,
    '-drive', `file=${qemuEscape(spec.iso)},media=cdrom,readonly=on`,
    '-netdev', 'user,id=net0',
    '-device', `virtio-net-pci,netdev=net0,mac=${config.mac_address}`,
    '-kernel', spec.kernel,
    '-initrd', spec.initrd,
    '-append', spec.append,
    '-no-reboot',
    '-display', 'none',
    ...consoleVncArgs(config, spec.vncSecretFile),
    '-serial', `file:${spec.serialLog}`,
    '-qmp', `unix:${spec.qmpSocket},server=on,wait=off`,
  ];
}
