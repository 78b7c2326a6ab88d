/**
 * The built-in defaults: what a fleet gets where fleet.yaml is absent or
 * silent. schema/fleet.schema.json repeats them as `default` for the
 * README; a test checks that the two agree.
 */
import type { Accel, CapMechanism } from './config-types.ts';
import type { VmEntry } from './fleet-types.ts';

/** Number of VMs when fleet.yaml does not say. */
export const DEFAULT_COUNT = 10;

/** `auto` uses KVM when /dev/kvm works, TCG otherwise. */
export const DEFAULT_ACCEL: Accel = 'auto';

/** `auto` picks cgroup-v2, cgroup-v1 or cpulimit, whichever the host allows. */
export const DEFAULT_CAP_MECHANISM: CapMechanism = 'auto';

/** vm-N forwards its guest VNC to host port 5900 + N - 1. */
export const DEFAULT_VNC_PORT_HOST_BASE = 5900;

/** vm-N's QEMU console VNC listens on 6000 + N - 1 (display 100 + N - 1). */
export const DEFAULT_VNC_PORT_CONSOLE_BASE = 6000;

/**
 * QEMU CPU models handed out in turn, so the fleet does not look like one
 * machine cloned N times. All are x86_64 models that QEMU 7+ knows.
 */
export const DEFAULT_CPU_MODELS: readonly string[] = [
  'Nehalem-IBRS',
  'Westmere-IBRS',
  'SandyBridge-IBRS',
  'Haswell-noTSX-IBRS',
  'Skylake-Client-IBRS',
  'EPYC',
  'EPYC-Rome',
];

/**
 * MB added to the base RAM, by VM number (cycled): vm-3 gets 2000, vm-6
 * 2096, vm-9 2144, the others 2048. Deterministic, so configs are stable.
 */
export const DEFAULT_RAM_OFFSETS_MB: readonly number[] = [
  0, 0, -48, 0, 0, 48, 0, 0, 96, 0,
];

/**
 * Per-VM defaults (the keys of `defaults:`). `{n}` in hostname and the
 * OpenVPN paths is replaced by the VM's number. The built-in auth file is
 * used only where it exists.
 */
export const DEFAULT_VM_ENTRY: Readonly<VmEntry> = {
  hostname: 'vm-{n}',
  vcpus: 1,
  ram_size_mb: 2048,
  disk_size_gb: 20,
  listen_address: '127.0.0.1',
  username: 'vmuser',
  password: 'userpass',
  locale: 'en_US.UTF-8',
  keyboard_layout: 'us',
  timezone: 'UTC',
  openvpn_config_file: 'vpn/vpn-{n}.ovpn',
  openvpn_auth_file: 'vpn/vpn-{n}.auth',
  vpn_check_host: null,
  telegram_url: 'https://telegram.org/dl/desktop/linux',
  cpu_limit_percent: 80,
  iso_path: 'iso/ubuntu-desktop.iso',
  installer_flavour: 'auto',
  extra_kernel_args: [],
  install_timeout_minutes: 90,
  direct_kernel: null,
};
