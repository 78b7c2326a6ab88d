/**
 * Decides each VM's identity (MAC, SMBIOS UUID and serial, VNC password)
 * and password hash, and so its complete VmConfig. A value set by hand in
 * fleet.yaml wins; else the stored one is kept; else a random one is
 * generated that no other VM has, hand-set, stored or generated.
 */
import { randomBytes } from 'node:crypto';
import { ConfigError, ConfigErrors } from '../engine/errors.ts';
import type { FleetSettings, VmConfig } from './config-types.ts';
import { displayPath, type Locator } from './fleet-locator.ts';
import { createPasswordHasher } from './fleet-password.ts';
import { IdentityPool } from './fleet-identity-pool.ts';
import { isIdentityValue, type RandomBytes } from './fleet-random.ts';
import { validateVmConfigShape } from './fleet-schema.ts';
import {
  IDENTITY_FIELDS,
  type Identity,
  type IdentityField,
  type VmSpec,
} from './fleet-types.ts';
import { schemaErrors } from './yaml-errors.ts';

/** Options of resolveConfigs; tests inject a predictable random source. */
export interface ResolveOptions {
  randomBytes?: RandomBytes;
}

/**
 * The VmConfig of every spec, in spec order. `stored` holds the configs
 * already in build/vm_configs (see readStoredConfigs); entries for VMs
 * beyond count are not returned, but their identity is never handed out
 * again. Pure given the random source. Throws ConfigErrors.
 */
export function resolveConfigs(
  settings: FleetSettings,
  specs: readonly VmSpec[],
  stored: ReadonlyMap<string, Partial<VmConfig>>,
  options: ResolveOptions = {},
): VmConfig[] {
  const random = options.randomBytes ?? randomBytes;
  const file = settings.file ? displayPath(settings.file) : 'fleet.yaml';
  const pool = new IdentityPool();
  const chosen: Partial<Identity>[] = specs.map((s) => ({ ...s.identity }));

  // Hand-set values first, then stored ones, so hand-set values win.
  const errors = [
    ...claimHandSet(specs, pool, file),
    ...keepStored(specs, chosen, stored, pool, file),
  ];
  if (errors.length > 0) throw new ConfigErrors(errors);
  reserveAbsent(specs, stored, pool);

  // Generate in VM order, field by field, so a seeded source repeats itself.
  const hashFor = createPasswordHasher(random);
  const configs = specs.map((spec, i) => {
    const identity = chosen[i]!;
    for (const field of IDENTITY_FIELDS) {
      identity[field] ??= pool.generate(field, spec.vm_name, random);
    }
    const hash = hashFor(spec.password, stored.get(spec.vm_name)?.user_password_hash);
    return toConfig(spec, identity as Identity, hash);
  });

  const invalid = configs.flatMap((c, i) => shapeErrors(c, specs[i]!, file));
  if (invalid.length > 0) throw new ConfigErrors(invalid);
  return configs;
}

// fleet.yaml already rejects hand-set duplicates; specs made elsewhere may not.
const claimHandSet = (specs: readonly VmSpec[], pool: IdentityPool, file: string) =>
  specs.flatMap((spec) =>
    IDENTITY_FIELDS.flatMap((field) => {
      const value = spec.identity[field];
      if (value === undefined) return [];
      const earlier = pool.claim(field, value, { vm: spec.vm_name, handSet: true });
      return earlier
        ? [clash(spec, field, `${earlier.vm}'s hand-set ${field}`, file)]
        : [];
    }),
  );

// A VM keeps each stored value it has not been given by hand. A stored value
// that another VM now sets by hand is an error: neither may silently change.
const keepStored = (
  specs: readonly VmSpec[],
  chosen: Partial<Identity>[],
  stored: ReadonlyMap<string, Partial<VmConfig>>,
  pool: IdentityPool,
  file: string,
) =>
  specs.flatMap((spec, i) =>
    IDENTITY_FIELDS.flatMap((field) => {
      const value = stored.get(spec.vm_name)?.[field];
      if (chosen[i]![field] !== undefined || !isIdentityValue(field, value)) return [];

      const earlier = pool.claim(field, value, { vm: spec.vm_name, handSet: false });
      if (!earlier) {
        chosen[i]![field] = value;
        return [];
      }
      // Two stored configs with one value (edited by hand?): this VM gets a new one.
      if (!earlier.handSet) return [];
      const owner = specs.find((s) => s.vm_name === earlier.vm)!;
      const what = `${spec.vm_name}'s stored ${field} (in ${spec.vm_name}.json)`;
      return [clash(owner, field, what, file)];
    }),
  );

// VMs beyond count keep their identity reserved for when count comes back up.
const reserveAbsent = (
  specs: readonly VmSpec[],
  stored: ReadonlyMap<string, Partial<VmConfig>>,
  pool: IdentityPool,
) => {
  const inFleet = new Set(specs.map((s) => s.vm_name));
  for (const [vm, old] of stored) {
    if (inFleet.has(vm)) continue;
    for (const field of IDENTITY_FIELDS) {
      const value = old[field];
      if (isIdentityValue(field, value)) pool.claim(field, value, { vm, handSet: false });
    }
  }
};

const clash = (spec: VmSpec, field: IdentityField, other: string, file: string) => {
  const shown = field === 'vnc_password' ? 'This password' : spec.identity[field];
  return new ConfigError(
    `${shown} is also ${other}. Every VM needs its own ${field}: choose another value for ${spec.vm_name}, or set ${field} for the other VM by hand too.`,
    spec.locations[field] ?? { file },
    `vms.${spec.vm_name}.${field}`,
  );
};

// The VmConfig fields in the order of config-types.ts and vm.schema.json.
const toConfig = (spec: VmSpec, id: Identity, user_password_hash: string): VmConfig => ({
  vm_id: spec.vm_id,
  vm_name: spec.vm_name,
  hostname: spec.hostname,
  mac_address: id.mac_address,
  uuid: id.uuid,
  bios_serial: id.bios_serial,
  vnc_password: id.vnc_password,
  cpu_model: spec.cpu_model,
  vcpus: spec.vcpus,
  ram_size_mb: spec.ram_size_mb,
  disk_size_gb: spec.disk_size_gb,
  listen_address: spec.listen_address,
  vnc_port_host: spec.vnc_port_host,
  vnc_port_console: spec.vnc_port_console,
  username: spec.username,
  user_password_hash,
  locale: spec.locale,
  keyboard_layout: spec.keyboard_layout,
  timezone: spec.timezone,
  openvpn_config_file: spec.openvpn_config_file,
  openvpn_auth_file: spec.openvpn_auth_file,
  vpn_check_host: spec.vpn_check_host,
  telegram_url: spec.telegram_url,
  direct_kernel: spec.direct_kernel,
  cpu_limit_percent: spec.cpu_limit_percent,
  iso_path: spec.iso_path,
  installer_flavour: spec.installer_flavour,
  extra_kernel_args: [...spec.extra_kernel_args],
  install_timeout_minutes: spec.install_timeout_minutes,
});

// A resolved config that breaks vm.schema.json comes from a combination of
// settings (a `{n}` host name grown too long, RAM offset below the minimum).
const shapeErrors = (config: VmConfig, spec: VmSpec, file: string) => {
  const errors = validateVmConfigShape(config);
  if (errors.length === 0) return [];

  const locator: Locator = {
    file,
    at: (path) => spec.locations[path[0] as keyof VmConfig] ?? { file },
  };
  return schemaErrors(errors, locator, []).map(
    (e) =>
      new ConfigError(
        `${spec.vm_name}'s resolved value: ${e.message} Change the setting that produces it${e.field === 'ram_size_mb' ? " (defaults.ram_size_mb plus the VM's ram_offsets_mb entry)" : ''}.`,
        e.location,
        `vms.${spec.vm_name}.${e.field ?? ''}`,
      ),
  );
};
