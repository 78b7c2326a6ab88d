/**
 * Shared inputs for the renderer and guest script tests: one plausible VM,
 * the real templates directory and a BASE like the install server's.
 */
import { fileURLToPath } from 'node:url';

import type { VmConfig } from '../../../tasks/vm/config-types.ts';

/** The repository's templates/ directory. */
export const TEMPLATES_DIR = fileURLToPath(
  new URL('../../../templates/', import.meta.url),
);

/** A BASE as the install server hands it out (32 hex characters of token). */
export const BASE_URL = 'http://10.0.2.2:38123/0123456789abcdef0123456789abcdef/';

/** SHA-512 crypt of "secret" (`openssl passwd -6 -salt qvmtestsalt secret`). */
export const PASSWORD_HASH =
  '$6$qvmtestsalt$f0Emho3Uyho5Tbn2PeO1JOxLNwmmPVExE1Bcab3nrW9gkovseqmA2e1SU4Yst/UD9YnmPk4R5QFmGGPW1Eb4r/';

/** A complete VmConfig for vm-3; `overrides` replace single fields. */
export function sampleConfig(overrides: Partial<VmConfig> = {}): VmConfig {
  return {
    vm_id: 3,
    vm_name: 'vm-3',
    hostname: 'desk-03',
    mac_address: '52:54:00:12:34:56',
    uuid: '0f8fad5b-d9cb-469f-a165-70867728950e',
    bios_serial: 'QVM-7F3K2M9X',
    vnc_password: "p'W$x`1\\",
    cpu_model: 'Skylake-Client',
    vcpus: 2,
    ram_size_mb: 2048,
    disk_size_gb: 25,
    listen_address: '127.0.0.1',
    vnc_port_host: 5902,
    vnc_port_console: 5912,
    username: 'alice',
    user_password_hash: PASSWORD_HASH,
    locale: 'en_US.UTF-8',
    keyboard_layout: 'us',
    timezone: 'Europe/Berlin',
    openvpn_config_file: 'vpn/vpn-3.ovpn',
    openvpn_auth_file: 'vpn/vpn-3.auth',
    vpn_check_host: '10.8.0.1',
    telegram_url: 'https://telegram.org/dl/desktop/linux',
    cpu_limit_percent: 80,
    iso_path: 'iso/ubuntu-desktop.iso',
    installer_flavour: 'auto',
    extra_kernel_args: [],
    install_timeout_minutes: 90,
    direct_kernel: null,
    ...overrides,
  };
}
