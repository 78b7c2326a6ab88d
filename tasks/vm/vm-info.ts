/**
 * The fleet summary handed to operators: build/output/vm_info.txt (CSV,
 * the columns people paste into their VNC client) and vm_info.json (more
 * fields). Both hold VNC passwords, so both are written with mode 0600.
 */
import path from 'node:path';
import type { VmConfig } from './config-types.ts';
import { writeSecretFile } from './fleet-store.ts';

/** The exact header line of vm_info.txt. */
export const VM_INFO_HEADER =
  'VM_Name,MAC_Address,VNC_Port_Host,VNC_Password,UUID,BIOS_Serial';

/** Extra fields for vm_info.json, keyed by VM name (such as `{ 'vm-3': { pid: 42 } }`). */
export type VmInfoExtra = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** One entry of vm_info.json. */
export interface VmInfoEntry {
  vm_name: string;
  vm_id: number;
  hostname: string;
  mac_address: string;
  uuid: string;
  bios_serial: string;
  vnc_password: string;
  listen_address: string;
  vnc_port_host: number;
  vnc_port_console: number;
  /** The QEMU display number of the console: port - 5900. */
  vnc_display_console: number;
  cpu_model: string;
  vcpus: number;
  ram_size_mb: number;
  disk_size_gb: number;
  cpu_limit_percent: number;
  username: string;
  openvpn_config_file: string;
  [extra: string]: unknown;
}

// RFC 4180: quote a field holding a comma, quote or line break.
const csvField = (value: string | number): string => {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

const byId = (configs: readonly VmConfig[]) =>
  [...configs].sort((a, b) => a.vm_id - b.vm_id);

/** vm_info.txt: the header, then one CSV row per VM in vm_id order. */
export function renderVmInfoTxt(configs: readonly VmConfig[]): string {
  const rows = byId(configs).map((c) =>
    [c.vm_name, c.mac_address, c.vnc_port_host, c.vnc_password, c.uuid, c.bios_serial]
      .map(csvField)
      .join(','),
  );
  return [VM_INFO_HEADER, ...rows].join('\n') + '\n';
}

/**
 * vm_info.json: `{ "vms": [...] }` in vm_id order, each entry with the
 * VM's identity, ports and size, plus its `extra` fields if any. No
 * timestamps, so equal inputs give equal bytes.
 */
export function renderVmInfoJson(
  configs: readonly VmConfig[],
  extra: VmInfoExtra = {},
): string {
  const vms = byId(configs).map((c): VmInfoEntry => ({
    vm_name: c.vm_name,
    vm_id: c.vm_id,
    hostname: c.hostname,
    mac_address: c.mac_address,
    uuid: c.uuid,
    bios_serial: c.bios_serial,
    vnc_password: c.vnc_password,
    listen_address: c.listen_address,
    vnc_port_host: c.vnc_port_host,
    vnc_port_console: c.vnc_port_console,
    vnc_display_console: c.vnc_port_console - 5900,
    cpu_model: c.cpu_model,
    vcpus: c.vcpus,
    ram_size_mb: c.ram_size_mb,
    disk_size_gb: c.disk_size_gb,
    cpu_limit_percent: c.cpu_limit_percent,
    username: c.username,
    openvpn_config_file: c.openvpn_config_file,
    ...extra[c.vm_name],
  }));
  return JSON.stringify({ vms }, null, 2) + '\n';
}

/** The two files writeVmInfo writes. */
export function vmInfoPaths(buildDir: string): { txt: string; json: string } {
  const dir = path.join(buildDir, 'output');
  return { txt: path.join(dir, 'vm_info.txt'), json: path.join(dir, 'vm_info.json') };
}

/** Writes build/output/vm_info.txt and vm_info.json, atomically, mode 0600. */
export async function writeVmInfo(
  buildDir: string,
  configs: readonly VmConfig[],
  extra: VmInfoExtra = {},
): Promise<void> {
  const { txt, json } = vmInfoPaths(buildDir);
  await writeSecretFile(txt, renderVmInfoTxt(configs));
  await writeSecretFile(json, renderVmInfoJson(configs, extra));
}
