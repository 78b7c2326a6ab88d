/**
 * Reads an installer ISO without root (xorriso) and tells which unattended
 * installer it holds, from `.disk/info` and the first linux/initrd pair in
 * `boot/grub/grub.cfg` (INSTALLERS.md: "Which installer an ISO has").
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../engine/process.ts';
import type { Flavour } from './config-types.ts';

export interface IsoFacts {
  /** The first line of .disk/info: "Ubuntu 22.04.4 LTS ...". */
  release: string;
  /** Paths inside the ISO, without the leading slash. */
  kernel: string;
  initrd: string;
  /** What the ISO holds, or undefined when it cannot be told. */
  flavour: Flavour | undefined;
  /** A desktop image (Subiquity needs `source: ubuntu-desktop-minimal` only there). */
  desktop: boolean;
}

/** The first `linux`/`initrd` pair of a grub.cfg, paths without the leading slash. */
export function bootFilesFromGrub(
  grubCfg: string,
): { kernel: string; initrd: string } | undefined {
  const kernel = /^\s*linux(?:efi)?\s+(\S+)/m.exec(grubCfg)?.[1];
  const initrd = /^\s*initrd(?:efi)?\s+(\S+)/m.exec(grubCfg)?.[1];
  if (!kernel || !initrd) return undefined;
  return { kernel: kernel.replace(/^\//, ''), initrd: initrd.replace(/^\//, '') };
}

/** Ubiquity before 23.04 desktop; Subiquity for 23.04+ desktop and every live-server; d-i for Debian. */
export function flavourOf(
  release: string,
  kernel: string,
): { flavour: Flavour | undefined; desktop: boolean } {
  if (/^Debian\b/i.test(release)) return { flavour: 'debian', desktop: false };
  const ubuntu = /^Ubuntu(-Server)?\s+(\d+)\.(\d+)/i.exec(release);
  if (!ubuntu) return { flavour: undefined, desktop: false };
  const server = Boolean(ubuntu[1]) || /server/i.test(release);
  if (server) return { flavour: 'subiquity', desktop: false };
  const version = Number(ubuntu[2]) * 100 + Number(ubuntu[3]);
  if (!kernel.startsWith('casper/')) return { flavour: undefined, desktop: true };
  return { flavour: version >= 2304 ? 'subiquity' : 'ubiquity', desktop: true };
}

export function inspect(diskInfo: string, grubCfg: string): IsoFacts | { error: string } {
  const release = diskInfo.split('\n')[0]?.trim() ?? '';
  const boot = bootFilesFromGrub(grubCfg);
  if (!boot) return { error: 'boot/grub/grub.cfg names no linux and initrd lines' };
  return { release, ...boot, ...flavourOf(release, boot.kernel) };
}

/**
 * One small text file from the ISO, through a temp file: xorriso will not
 * extract onto /dev/stdout. Throws with xorriso's last lines on failure.
 */
export async function readIsoText(
  iso: string,
  inner: string,
  signal?: AbortSignal,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'qvm-iso-'));
  try {
    const out = join(dir, 'file');
    const result = await exec(
      'xorriso',
      ['-osirrox', 'on', '-indev', iso, '-extract', `/${inner}`, out],
      {},
      signal,
    );
    if (result.code !== 0) {
      throw new Error(
        `cannot read /${inner} from ${iso} (xorriso exit ${result.code}): ${result.tail.slice(-3).join(' | ')}`,
      );
    }
    return await readFile(out, 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The facts of an ISO, read with xorriso. */
export async function inspectIso(
  iso: string,
  signal?: AbortSignal,
): Promise<IsoFacts | { error: string }> {
  return inspect(
    await readIsoText(iso, '.disk/info', signal),
    await readIsoText(iso, 'boot/grub/grub.cfg', signal),
  );
}
