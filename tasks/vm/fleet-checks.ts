/**
 * The checks on fleet.yaml that a JSON Schema cannot express: keys in the
 * wrong place, VMs beyond count, port ranges, and values that must differ
 * between VMs. Each returns every problem it finds.
 */
import { ConfigError, formatLocation, type SourceLocation } from '../engine/errors.ts';
import {
  DEFAULT_VNC_PORT_CONSOLE_BASE,
  DEFAULT_VNC_PORT_HOST_BASE,
} from './fleet-defaults.ts';
import type { Locator } from './fleet-locator.ts';
import { identityKey } from './fleet-random.ts';
import {
  IDENTITY_FIELDS,
  PER_VM_ONLY_KEYS,
  type FleetFile,
  type IdentityField,
  type VmSpec,
} from './fleet-types.ts';

const MAX_PORT = 65535;

/** Problems visible in the file itself, before any VM is resolved. */
export function checkFleetFile(
  fleet: FleetFile,
  count: number,
  locator: Locator,
): ConfigError[] {
  const errors: ConfigError[] = [];
  const defaults = fleet.defaults ?? {};

  for (const key of PER_VM_ONLY_KEYS.filter((k) => k in defaults)) {
    errors.push(
      new ConfigError(
        `${key} must differ between VMs, so defaults: cannot set it. Move it to vms.vm-N.${key} for one VM, or remove it to have it generated.`,
        locator.at(['defaults', key], 'key'),
        `defaults.${key}`,
      ),
    );
  }

  for (const name of Object.keys(fleet.vms ?? {})) {
    const n = Number(name.slice('vm-'.length));
    if (n <= count) continue;
    errors.push(
      new ConfigError(
        `${name} is beyond count ${count} (the fleet is vm-1 ... vm-${count}). Raise count to at least ${n}, or remove vms.${name}.`,
        locator.at(['vms', name], 'key'),
        `vms.${name}`,
      ),
    );
  }

  const levels: [string[], FleetFile['defaults']][] = [
    [['defaults'], fleet.defaults],
    ...Object.entries(fleet.vms ?? {}).map(
      ([n, e]): [string[], FleetFile['defaults']] => [['vms', n], e],
    ),
  ];
  for (const [at, entry] of levels) {
    if (entry?.password === undefined || entry.password_hash === undefined) continue;
    errors.push(
      new ConfigError(
        'found both password and password_hash; set only one of them.',
        locator.at([...at, 'password_hash'], 'key'),
        [...at, 'password_hash'].join('.'),
      ),
    );
  }

  return errors;
}

/** The guest VNC and console port ranges fit below 65535 and do not overlap. */
export function checkPortRanges(
  fleet: FleetFile,
  count: number,
  locator: Locator,
): ConfigError[] {
  const host = fleet.vnc_port_host_base ?? DEFAULT_VNC_PORT_HOST_BASE;
  const cons = fleet.vnc_port_console_base ?? DEFAULT_VNC_PORT_CONSOLE_BASE;
  const hostEnd = host + count - 1;
  const consEnd = cons + count - 1;
  const where = locator.at(['count']);
  const error = (message: string) => new ConfigError(message, where, 'count');
  const needs = `count ${count} needs guest VNC host ports ${host}-${hostEnd} and QEMU console ports ${cons}-${consEnd}`;

  if (hostEnd > MAX_PORT || consEnd > MAX_PORT) {
    const most = MAX_PORT + 1 - Math.max(host, cons);
    return [
      error(
        `${needs}, but ports stop at ${MAX_PORT}. Lower count to at most ${most}, or lower vnc_port_host_base / vnc_port_console_base.`,
      ),
    ];
  }
  if (host <= consEnd && cons <= hostEnd) {
    const most = Math.abs(cons - host);
    const move =
      host < cons
        ? `set vnc_port_console_base to ${hostEnd + 1} or more`
        : `set vnc_port_host_base to ${consEnd + 1} or more`;
    return [
      error(
        `${needs}, and the two ranges overlap. Lower count to at most ${most}, or ${move}.`,
      ),
    ];
  }
  return [];
}

/** A field that some VMs set by hand and that must differ between VMs. */
type UniqueField = IdentityField | 'vnc_port_host' | 'vnc_port_console';

/**
 * Values that must be unique across the fleet: hand-set identity (MAC,
 * UUID, serial, VNC password, compared as identityKey says) and every port
 * (skipped with `ports: false`, when the port ranges are already wrong).
 */
export function checkUniqueness(
  specs: readonly VmSpec[],
  locator: Locator,
  { ports = true } = {},
): ConfigError[] {
  const errors: ConfigError[] = [];
  const seen = new Map<string, { spec: VmSpec; field: UniqueField }>();

  const claim = (
    spec: VmSpec,
    field: UniqueField,
    group: string,
    value: string | number,
  ) => {
    const key =
      typeof value === 'number'
        ? `${group}\0${value}`
        : `${group}\0${identityKey(group as IdentityField, value)}`;
    const first = seen.get(key);
    if (!first) return void seen.set(key, { spec, field });

    // Blame the hand-set one; when both are, the later one.
    const second = { spec, field };
    const handSet = (c: typeof second) => c.spec.locations[c.field] !== undefined;
    const [blamed, other] =
      handSet(second) || !handSet(first) ? [second, first] : [first, second];
    const otherWhere = other.spec.locations[other.field];
    const origin = otherWhere ? ` (${formatLocation(otherWhere)})` : ' (its default)';
    errors.push(
      new ConfigError(
        `${field === 'vnc_password' ? 'This password' : String(value)} is also ${other.spec.vm_name}'s ${other.field}${origin}. Every VM needs its own: change one of them, or remove the hand-set one to ${field.startsWith('vnc_port') ? 'use its default port' : 'have it generated'}.`,
        whereOf(blamed.spec, blamed.field, locator),
        `vms.${blamed.spec.vm_name}.${blamed.field}`,
      ),
    );
  };

  for (const spec of specs) {
    for (const field of IDENTITY_FIELDS) {
      const value = spec.identity[field];
      if (value !== undefined) claim(spec, field, field, value);
    }
    // Both kinds of port share one space: a port is a port.
    if (!ports) continue;
    claim(spec, 'vnc_port_host', 'port', spec.vnc_port_host);
    claim(spec, 'vnc_port_console', 'port', spec.vnc_port_console);
  }
  return errors;
}

const whereOf = (
  spec: VmSpec,
  field: keyof VmSpec['locations'],
  locator: Locator,
): SourceLocation => spec.locations[field] ?? locator.at(['vms', spec.vm_name], 'key');
