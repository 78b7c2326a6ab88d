/**
 * This step reads the installer ISO: which flavour of installer it holds,
 * and its kernel and initrd, extracted under build/iso/ so every install
 * boots them with -kernel/-initrd. The ISO is hashed once (the engine's hash
 * cache) and read again only when it changes.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TaskFailure } from '../engine/errors.ts';
import { writeFileAtomic } from '../engine/fs-util.ts';
import type { TaskContext, TaskDef } from '../engine/types.ts';
import type { Flavour } from './config-types.ts';
import { inspectIso } from './iso-inspect.ts';

/** What the iso task leaves in build/iso/iso.json for the installs. */
export interface IsoInfo {
  release: string;
  /** The flavour used: the fleet's override, else the detected one. */
  flavour: Flavour;
  detected: Flavour | null;
  desktop: boolean;
  kernel: string;
  initrd: string;
}

export const ISO_INFO = 'build/iso/iso.json';

export function isoTask(opts: { isoPath: string; override: Flavour | 'auto' }): TaskDef {
  return {
    name: 'iso',
    kind: 'iso',
    kindVersion: 1,
    description: `reads ${opts.isoPath}: installer flavour, kernel and initrd`,
    inputs: { files: [opts.isoPath], values: { override: opts.override } },
    outputs: [ISO_INFO, 'build/iso/vmlinuz', 'build/iso/initrd'],
    async run(ctx) {
      const iso = join(ctx.root, opts.isoPath);
      const outDir = join(ctx.buildDir, 'iso');
      await mkdir(outDir, { recursive: true });

      let facts;
      try {
        facts = await inspectIso(iso, ctx.signal);
      } catch (err) {
        throw new TaskFailure(
          `${(err as Error).message}; is ${opts.isoPath} an Ubuntu or Debian installer ISO?`,
        );
      }
      if ('error' in facts) {
        throw new TaskFailure(
          `${opts.isoPath}: ${facts.error}; is it an Ubuntu or Debian installer ISO?`,
        );
      }
      const flavour = opts.override === 'auto' ? facts.flavour : opts.override;
      if (!flavour) {
        throw new TaskFailure(
          `${opts.isoPath} holds '${facts.release}', whose installer flavour cannot be told; ` +
            `set installer.flavour in fleet.yaml to ubiquity, subiquity or debian`,
        );
      }
      ctx.log(
        `${opts.isoPath}: ${facts.release}; installer ${flavour}${opts.override === 'auto' ? '' : ' (set in fleet.yaml)'}`,
      );

      await extract(ctx, iso, facts.kernel, join(outDir, 'vmlinuz'));
      await extract(ctx, iso, facts.initrd, join(outDir, 'initrd'));
      const info: IsoInfo = {
        release: facts.release,
        flavour,
        detected: facts.flavour ?? null,
        desktop: facts.desktop,
        kernel: facts.kernel,
        initrd: facts.initrd,
      };
      await writeFileAtomic(
        join(ctx.root, ISO_INFO),
        JSON.stringify(info, null, 2) + '\n',
      );
      return { flavour, release: facts.release };
    },
  };
}

/** Extracts one file from the ISO to `dest` through a temp name. */
async function extract(
  ctx: TaskContext,
  iso: string,
  inner: string,
  dest: string,
): Promise<void> {
  const temp = `${dest}.partial`;
  await rm(temp, { force: true });
  const result = await ctx.exec('xorriso', [
    '-osirrox',
    'on',
    '-indev',
    iso,
    '-extract',
    `/${inner}`,
    temp,
  ]);
  if (result.code !== 0) {
    await rm(temp, { force: true });
    throw new TaskFailure(
      `cannot extract /${inner} from ${iso} (xorriso exit ${result.code})`,
      result.tail,
    );
  }
  await rename(temp, dest);
}
