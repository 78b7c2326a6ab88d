/**
 * KVM when this host can use it, TCG otherwise. QVM_ACCEL=tcg|kvm overrides
 * the fleet setting; the tests set it to tcg because KVM guests hang on
 * their machines.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { ConfigError } from '../engine/errors.ts';
import type { Accel } from './config-types.ts';

export async function kvmUsable(): Promise<boolean> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The accelerator to pass to QEMU: `kvm` or `tcg`. */
export async function resolveAccel(setting: Accel): Promise<'kvm' | 'tcg'> {
  const forced = process.env.QVM_ACCEL;
  if (forced !== undefined && forced !== '') {
    if (forced !== 'kvm' && forced !== 'tcg' && forced !== 'auto') {
      throw new ConfigError(
        `expected QVM_ACCEL to be kvm, tcg or auto, got '${forced}'; unset it to use the fleet setting`,
        { file: 'environment' },
        'QVM_ACCEL',
      );
    }
    setting = forced;
  }
  if (setting === 'tcg') return 'tcg';
  if (setting === 'kvm') return 'kvm';
  return (await kvmUsable()) ? 'kvm' : 'tcg';
}
