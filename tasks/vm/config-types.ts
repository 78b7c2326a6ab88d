/**
 * The shapes the VM plugin passes around. `VmConfig` is exactly what
 * `vm-N.config` writes to build/vm_configs/vm-N.json (see
 * schema/vm.schema.json); every later task reads it back from there.
 */

/** Which unattended installer an ISO holds (see INSTALLERS.md). */
export type Flavour = 'ubiquity' | 'subiquity' | 'debian';

/** How QEMU accelerates guests: `auto` uses KVM when /dev/kvm works. */
export type Accel = 'auto' | 'kvm' | 'tcg';

/** How `vm-N.limit` caps CPU. `auto` picks the first the host allows. */
export type CapMechanism = 'auto' | 'cgroup-v2' | 'cgroup-v1' | 'cpulimit';

/** One VM's complete, resolved configuration and identity. */
export interface VmConfig {
  /** 1-based index: vm-3 has vm_id 3. */
  vm_id: number;
  vm_name: string;
  hostname: string;

  // Identity: random once, then kept (see identity.ts).
  mac_address: string;
  uuid: string;
  bios_serial: string;
  /** At most 8 characters: VNC authentication ignores the rest. */
  vnc_password: string;

  cpu_model: string;
  vcpus: number;
  ram_size_mb: number;
  disk_size_gb: number;

  /** Host address that the console VNC and the forwarded guest VNC bind to. */
  listen_address: string;
  /** Host port forwarded to the guest's x11vnc on port 5900. */
  vnc_port_host: number;
  /** Host port of QEMU's own VNC console (display = port - 5900). */
  vnc_port_console: number;

  username: string;
  /** SHA-512 crypt ($6$...) of the user's password; the plain text is never stored. */
  user_password_hash: string;
  locale: string;
  keyboard_layout: string;
  timezone: string;

  /** Path of the VM's OpenVPN profile, relative to the project root. */
  openvpn_config_file: string;
  /** Optional auth-user-pass file (user name, then password), relative to the root. */
  openvpn_auth_file: string | null;
  /** Host the guest pings after the VPN is up; null skips the check. */
  vpn_check_host: string | null;
  /** Telegram Desktop portable tarball URL; null skips Telegram. */
  telegram_url: string | null;

  /** Percent of one core the running VM may use (80 = 80% of one core). */
  cpu_limit_percent: number;

  /** Installer ISO path, relative to the project root. */
  iso_path: string;
  /** `auto` reads the flavour from the ISO. */
  installer_flavour: Flavour | 'auto';
  /** Extra words appended to the installer's kernel command line. */
  extra_kernel_args: string[];
  install_timeout_minutes: number;
  /** Boot the installed VM with this kernel instead of from its disk (demo, special guests). */
  direct_kernel: DirectKernel | null;
}

/** QEMU -kernel/-initrd/-append for booting without the disk's boot loader. */
export interface DirectKernel {
  kernel: string;
  initrd: string;
  append: string;
}

/** Settings that apply to the fleet as a whole, not to one VM. */
export interface FleetSettings {
  /** Absolute project root (where fleet.yaml lives). */
  root: string;
  /** Absolute path of fleet.yaml, or null when built-in defaults are used. */
  file: string | null;
  accel: Accel;
  cap_mechanism: CapMechanism;
  /** Number of VMs: vm-1 ... vm-count. */
  count: number;
}
