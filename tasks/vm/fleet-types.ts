/**
 * The shapes between fleet.yaml and build/vm_configs/vm-N.json: what the
 * file may say (`FleetFile`), and one VM's resolved settings before its
 * identity is decided (`VmSpec`). See schema/fleet.schema.json.
 */
import type { SourceLocation } from '../engine/errors.ts';
import type { Accel, CapMechanism, VmConfig } from './config-types.ts';

/** The fields that make a VM distinct: random once, then kept. */
export const IDENTITY_FIELDS = [
  'mac_address',
  'uuid',
  'bios_serial',
  'vnc_password',
] as const;

/** One of the identity fields. */
export type IdentityField = (typeof IDENTITY_FIELDS)[number];

/** A VM's identity: MAC, SMBIOS UUID and serial, VNC password. */
export type Identity = Pick<VmConfig, IdentityField>;

/** Keys that only make sense for one VM, so `defaults:` may not set them. */
export const PER_VM_ONLY_KEYS: readonly string[] = [
  ...IDENTITY_FIELDS,
  'vnc_port_host',
  'vnc_port_console',
];

/**
 * One entry under `defaults:` or `vms.vm-N:`, as validated by the schema.
 * The keys are VmConfig's, plus the password in one of two forms.
 */
export type VmEntry = Partial<
  Omit<VmConfig, 'vm_id' | 'vm_name' | 'user_password_hash'>
> & {
  password?: string;
  password_hash?: string;
};

/** The whole of fleet.yaml, as validated by schema/fleet.schema.json. */
export interface FleetFile {
  count?: number;
  accel?: Accel;
  cap_mechanism?: CapMechanism;
  vnc_port_host_base?: number;
  vnc_port_console_base?: number;
  cpu_models?: string[];
  ram_offsets_mb?: number[];
  defaults?: VmEntry;
  vms?: Record<string, VmEntry>;
}

/** The guest user's password as fleet.yaml gives it. */
export type PasswordSetting = { plain: string } | { hash: string };

/**
 * One VM's resolved settings: everything in its VmConfig except the
 * identity (only what was set by hand is here) and the password hash.
 */
export interface VmSpec extends Omit<VmConfig, IdentityField | 'user_password_hash'> {
  /** Identity values set by hand in fleet.yaml, already normalised. */
  identity: Partial<Identity>;
  password: PasswordSetting;
  /**
   * Where hand-set fields were written in fleet.yaml, keyed by VmConfig
   * field, for error messages. Not a setting: leave it out of fingerprints.
   */
  locations: Partial<Record<keyof VmConfig, SourceLocation>>;
}
