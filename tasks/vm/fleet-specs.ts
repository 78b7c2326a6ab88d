/**
 * Resolves each VM's settings from a validated fleet.yaml: `vms.vm-N`
 * wins over `defaults`, which wins over the built-in defaults. `{n}` in
 * hostname and the OpenVPN paths becomes the VM's number.
 */
import path from 'node:path';
import { ConfigError } from '../engine/errors.ts';
import { exists } from '../engine/fs-util.ts';
import {
  DEFAULT_CPU_MODELS,
  DEFAULT_RAM_OFFSETS_MB,
  DEFAULT_VM_ENTRY,
  DEFAULT_VNC_PORT_CONSOLE_BASE,
  DEFAULT_VNC_PORT_HOST_BASE,
} from './fleet-defaults.ts';
import { fieldPath, type Locator } from './fleet-locator.ts';
import type { FleetFile, PasswordSetting, VmEntry, VmSpec } from './fleet-types.ts';

type Key = keyof VmEntry;

/** The VM's name for its 1-based number. */
export const vmName = (n: number): string => `vm-${n}`;

/**
 * Builds vm-1 ... vm-count, with the problems found on the way: settings
 * that disagree within a VM, a per-VM auth file that does not exist.
 */
export async function buildSpecs(
  fleet: FleetFile,
  count: number,
  root: string,
  locator: Locator,
): Promise<{ specs: VmSpec[]; errors: ConfigError[] }> {
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  const built = await Promise.all(ids.map((n) => buildSpec(fleet, n, root, locator)));
  return { specs: built.map((b) => b.spec), errors: built.flatMap((b) => b.errors) };
}

const buildSpec = async (fleet: FleetFile, n: number, root: string, locator: Locator) => {
  const name = vmName(n);
  const entry = fleet.vms?.[name] ?? {};
  const defaults = fleet.defaults ?? {};
  const locations: VmSpec['locations'] = {};

  for (const key of Object.keys(entry) as Key[]) {
    const field =
      key === 'password' || key === 'password_hash' ? 'user_password_hash' : key;
    locations[field] = locator.at(['vms', name, key]);
  }

  // The most specific level that has the key wins; null is a real value.
  const pick = <K extends Key>(key: K): VmEntry[K] => {
    if (key in entry) return entry[key];
    if (key in defaults) return defaults[key];
    return DEFAULT_VM_ENTRY[key];
  };
  const fill = (template: string) => template.replaceAll('{n}', String(n));
  const nth = <T>(list: readonly T[]): T => list[(n - 1) % list.length] as T;

  const hostBase = fleet.vnc_port_host_base ?? DEFAULT_VNC_PORT_HOST_BASE;
  const consoleBase = fleet.vnc_port_console_base ?? DEFAULT_VNC_PORT_CONSOLE_BASE;
  const ramBase = defaults.ram_size_mb ?? (DEFAULT_VM_ENTRY.ram_size_mb as number);
  const cpuModel = pick('cpu_model') ?? nth(fleet.cpu_models ?? DEFAULT_CPU_MODELS);

  const spec: VmSpec = {
    vm_id: n,
    vm_name: name,
    hostname: fill(pick('hostname') as string),
    identity: identityOf(entry),
    cpu_model: cpuModel,
    vcpus: pick('vcpus') as number,
    ram_size_mb:
      entry.ram_size_mb ?? ramBase + nth(fleet.ram_offsets_mb ?? DEFAULT_RAM_OFFSETS_MB),
    disk_size_gb: pick('disk_size_gb') as number,
    listen_address: pick('listen_address') as string,
    vnc_port_host: pick('vnc_port_host') ?? hostBase + n - 1,
    vnc_port_console: pick('vnc_port_console') ?? consoleBase + n - 1,
    username: pick('username') as string,
    password: passwordOf(entry) ?? passwordOf(defaults) ?? passwordOf(DEFAULT_VM_ENTRY)!,
    locale: pick('locale') as string,
    keyboard_layout: pick('keyboard_layout') as string,
    timezone: pick('timezone') as string,
    openvpn_config_file: fill(pick('openvpn_config_file') as string),
    openvpn_auth_file: null,
    vpn_check_host: pick('vpn_check_host') ?? null,
    telegram_url: pick('telegram_url') ?? null,
    cpu_limit_percent: pick('cpu_limit_percent') as number,
    iso_path: pick('iso_path') as string,
    installer_flavour: pick('installer_flavour') ?? 'auto',
    extra_kernel_args: [...(pick('extra_kernel_args') ?? [])],
    install_timeout_minutes: pick('install_timeout_minutes') as number,
    direct_kernel: pick('direct_kernel') ?? null,
    locations,
  };

  // Where a key was set, for errors: the VM's entry, else defaults.
  const origin = (key: Key) =>
    key in entry ? ['vms', name, key] : key in defaults ? ['defaults', key] : null;
  const errors = checkCpuLimit(spec, origin, locator);

  spec.openvpn_auth_file = await authFile(spec, pick('openvpn_auth_file'), root, errors);
  return { spec, errors };
};

// 100% of one core per vCPU is all a VM can use; more is a typo.
const checkCpuLimit = (
  spec: VmSpec,
  origin: (key: Key) => string[] | null,
  locator: Locator,
): ConfigError[] => {
  const most = spec.vcpus * 100;
  if (spec.cpu_limit_percent <= most) return [];

  const at = origin('cpu_limit_percent') ?? origin('vcpus') ?? ['defaults'];
  return [
    new ConfigError(
      `cpu_limit_percent ${spec.cpu_limit_percent} is more than ${spec.vcpus} vCPU(s) can use (at most ${most}). Lower it, or raise vcpus.`,
      locator.at(at),
      fieldPath(at),
    ),
  ];
};

// A per-VM auth file must exist; a default one is used only where it does.
const authFile = async (
  spec: VmSpec,
  template: string | null | undefined,
  root: string,
  errors: ConfigError[],
): Promise<string | null> => {
  if (template === null || template === undefined) return null;

  const file = template.replaceAll('{n}', String(spec.vm_id));
  if (await exists(path.resolve(root, file))) return file;

  const where = spec.locations.openvpn_auth_file;
  if (where) {
    errors.push(
      new ConfigError(
        `expected an existing OpenVPN auth file, found no file at ${path.resolve(root, file)}. Create it (user name on line 1, password on line 2) or set openvpn_auth_file: null.`,
        where,
        `vms.${spec.vm_name}.openvpn_auth_file`,
      ),
    );
  }
  return null;
};

// Hand-set identity, normalised so that comparisons ignore letter case.
const identityOf = (entry: VmEntry): VmSpec['identity'] => {
  const identity: VmSpec['identity'] = {};
  if (entry.mac_address) identity.mac_address = entry.mac_address.toLowerCase();
  if (entry.uuid) identity.uuid = entry.uuid.toLowerCase();
  if (entry.bios_serial) identity.bios_serial = entry.bios_serial;
  if (entry.vnc_password) identity.vnc_password = entry.vnc_password;
  return identity;
};

const passwordOf = (entry: VmEntry): PasswordSetting | undefined => {
  if (entry.password_hash !== undefined) return { hash: entry.password_hash };
  if (entry.password !== undefined) return { plain: entry.password };
  return undefined;
};
