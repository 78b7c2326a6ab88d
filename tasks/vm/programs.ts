/**
 * Which host programs the fleet needs, and the apt-get command that brings
 * each one.
 */
import { which } from 'zx';
import type { PluginContext } from '../engine/types.ts';

export const APT_PACKAGES: Record<string, string> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-img': 'qemu-utils',
  xorriso: 'xorriso',
  cpulimit: 'cpulimit',
};

export interface MissingProgram {
  program: string;
  fix: string;
}

export async function missingPrograms(
  programs: string[],
  _ctx?: PluginContext,
): Promise<MissingProgram[]> {
  const missing: MissingProgram[] = [];
  for (const program of programs) {
    const found = await which(program, { nothrow: true });
    if (!found) {
      missing.push({
        program,
        fix: `sudo apt-get install -y ${APT_PACKAGES[program] ?? program}`,
      });
    }
  }
  return missing;
}
