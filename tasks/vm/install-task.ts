/**
 * This step installs one VM unattended: a fresh disk under a temporary name,
 * the installer's kernel booted with the flavour's command line, the answer
 * file and setup script served from memory, and success only when QEMU
 * exited cleanly AND the guest reported success. Only then is the disk
 * renamed into place.
 */
import { chmod, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { TaskFailure } from '../engine/errors.ts';
import { writeFileAtomic } from '../engine/fs-util.ts';
import { exec } from '../engine/process.ts';
import type { Outcome, TaskContext, TaskDef } from '../engine/types.ts';
import type { Flavour, VmConfig } from './config-types.ts';
import { installArgs } from './install-args.ts';
import { judge } from './install-verdict.ts';
import { InstallServer, type GuestReport } from './install-server.ts';
import { ISO_INFO, type IsoInfo } from './iso-task.ts';
import { kernelCommandLine } from './kernel-cmdline.ts';
import { installPaths, privateDir } from './paths.ts';
import { renderInstallFiles, TEMPLATE_FILES } from './render.ts';
import { stopRunningVm } from './vm-guard.ts';

/** Fields of vm-N.json that the installed guest keeps; changing another one only restarts the VM. */
// prettier-ignore
export const INSTALL_FIELDS = [
  'vm_name', 'hostname', 'mac_address', 'uuid', 'bios_serial', 'vnc_password',
  'username', 'user_password_hash', 'locale', 'keyboard_layout', 'timezone',
  'openvpn_config_file', 'openvpn_auth_file', 'vpn_check_host', 'telegram_url',
  'disk_size_gb', 'iso_path', 'installer_flavour', 'extra_kernel_args',
] as const satisfies readonly (keyof VmConfig)[];

/** How long a guest that reported failure gets to power off by itself. */
const AFTER_FAILURE_GRACE_MS = 10_000;

export interface InstallOptions {
  /** The VM's resolved config: the same content vm-N.config writes. */
  config: VmConfig;
  vmName: string;
  accel: 'kvm' | 'tcg';
  templatesDir: string;
  deps: string[];
  /** Order-only: vm-N.config, whose file this task reads but whose other fields do not matter. */
  after: string[];
}

export function installTask(opts: InstallOptions): TaskDef {
  const name = `${opts.vmName}.install`;
  // The server of the install in progress, closed by cleanup whatever happened.
  let server: InstallServer | undefined;
  return {
    name,
    group: opts.vmName,
    kind: 'vm-install',
    kindVersion: 1,
    description: `fresh disk, unattended install and guest setup of ${opts.vmName}`,
    deps: opts.deps,
    after: opts.after,
    outputs: [`build/disks/${opts.vmName}.qcow2`],
    async inputs({ root }) {
      const config = opts.config;
      const iso = JSON.parse(await readFile(join(root, ISO_INFO), 'utf8')) as IsoInfo;
      const flavour = flavourFor(config, iso);
      const values = Object.fromEntries(INSTALL_FIELDS.map((f) => [f, config[f]]));
      return {
        values: { ...values, flavour, desktop: iso.desktop },
        files: [
          ...TEMPLATE_FILES[flavour].map((t) =>
            relativeIfInside(root, join(opts.templatesDir, t)),
          ),
          config.openvpn_config_file,
          ...(config.openvpn_auth_file ? [config.openvpn_auth_file] : []),
        ],
      };
    },
    async run(ctx) {
      const progress: Progress = {};
      server = new InstallServer(serverEvents(ctx, progress));
      return install(ctx, opts, server, progress);
    },
    async cleanup(ctx, outcome: Outcome) {
      await server?.close();
      server = undefined;
      const paths = installPaths(ctx.buildDir, opts.vmName);
      await rm(paths.secret, { force: true });
      await rm(paths.qmp, { force: true });
      if (outcome !== 'success') await rm(paths.partial, { force: true });
    },
  };
}

/** Paths inside the project are shown relative to it (`templates/user-data changed`). */
function relativeIfInside(root: string, file: string): string {
  const rel = relative(root, file);
  return rel.startsWith('..') ? file : rel;
}

function flavourFor(config: VmConfig, iso: IsoInfo): Flavour {
  return config.installer_flavour === 'auto' ? iso.flavour : config.installer_flavour;
}

interface Progress {
  report?: GuestReport;
  onReport?: (r: GuestReport) => void;
}

/** Turns the server's events into log lines, phases and the guest's report. */
function serverEvents(ctx: TaskContext, progress: Progress) {
  const answerFiles = new Set(['ubuntu.seed', 'user-data', 'preseed.cfg']);
  return {
    onRequest: (line: string) => ctx.log(`http: ${line}`),
    onFetch: (file: string) => {
      if (answerFiles.has(file)) ctx.phase('answer file fetched');
      if (file === 'setup_vm_in_guest.sh') ctx.phase('setup script running');
    },
    onPhase: (phase: string) => ctx.phase(phase),
    onReport: (report: GuestReport) => {
      progress.report ??= report;
      if (report.status === 'failure') progress.report = report;
      ctx.phase(`reported ${report.status}`);
      progress.onReport?.(report);
    },
  };
}

async function install(
  ctx: TaskContext,
  opts: InstallOptions,
  server: InstallServer,
  progress: Progress,
) {
  const config = opts.config;
  const iso = JSON.parse(await readFile(join(ctx.root, ISO_INFO), 'utf8')) as IsoInfo;
  const flavour = flavourFor(config, iso);
  const paths = installPaths(ctx.buildDir, opts.vmName);

  // A running VM still uses the old disk: stop it before the disk is replaced.
  await stopRunningVm(ctx, config);
  await rm(paths.disk, { force: true });
  await rm(paths.partial, { force: true });
  await privateDir(paths.diskDir);
  await privateDir(paths.runDir);
  const img = await ctx.exec('qemu-img', [
    'create',
    '-q',
    '-f',
    'qcow2',
    paths.partial,
    `${config.disk_size_gb}G`,
  ]);
  if (img.code !== 0)
    throw new TaskFailure(
      `${opts.vmName}: qemu-img could not create ${paths.partial}`,
      img.tail,
    );

  await chmod(paths.partial, 0o600);

  const port = await server.start();
  const base = server.baseUrl(port);
  server.setFiles(
    await renderInstallFiles({
      config,
      flavour,
      baseUrl: base,
      desktop: iso.desktop,
      vpnProfile: await readFile(join(ctx.root, config.openvpn_config_file)),
      vpnAuth: config.openvpn_auth_file
        ? await readFile(join(ctx.root, config.openvpn_auth_file))
        : null,
      templatesDir: opts.templatesDir,
    }),
  );
  await writeFileAtomic(paths.secret, config.vnc_password, 0o600);
  ctx.log(
    `install server on 127.0.0.1:${port} (guest: 10.0.2.2:${port}); flavour ${flavour}`,
  );

  const args = installArgs({
    config,
    accel: opts.accel,
    disk: paths.partial,
    iso: join(ctx.root, config.iso_path),
    kernel: join(ctx.buildDir, 'iso/vmlinuz'),
    initrd: join(ctx.buildDir, 'iso/initrd'),
    append: kernelCommandLine(flavour, base, config.extra_kernel_args),
    serialLog: paths.serialLog,
    qmpSocket: paths.qmp,
    vncSecretFile: paths.secret,
  });
  // QEMU keeps the mode of an existing file: the console log is for the owner only.
  await writeFileAtomic(paths.serialLog, '', 0o600);
  ctx.phase('booting the installer');
  const stopEarly = new AbortController();
  progress.onReport = (r) => {
    if (r.status === 'failure')
      setTimeout(() => stopEarly.abort(), AFTER_FAILURE_GRACE_MS).unref();
  };
  const timeoutMs = config.install_timeout_minutes * 60_000;
  const qemu = await exec(
    'qemu-system-x86_64',
    args,
    {
      timeoutMs,
      onLine: (line) => ctx.log(`qemu: ${line}`),
    },
    AbortSignal.any([ctx.signal, stopEarly.signal]),
  );
  if (ctx.signal.aborted) throw new Error('interrupted');
  ctx.phase('powered off');

  const report = progress.report;
  if (report) await writeFileAtomic(paths.setupLog, report.log, 0o600);
  return judge(ctx, opts.vmName, config, { qemu, report, paths });
}
