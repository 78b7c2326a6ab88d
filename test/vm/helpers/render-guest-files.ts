/**
 * The guest files of vm-3 rendered against a GuestRig's server, staged the
 * way hook.sh leaves them, and a snapshot of a scratch root for comparing
 * two runs of the setup script.
 */
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { VmConfig } from '../../../tasks/vm/config-types.ts';
import { renderInstallFiles } from '../../../tasks/vm/render.ts';
import { sampleConfig, TEMPLATES_DIR } from './render-fixtures.ts';
import type { GuestRig } from './render-guest-rig.ts';

/** vm-3's VNC password in these tests. */
export const VNC_PASSWORD = 'Vn$c9#Qz';
/** The password line of vm-3's vpn.auth. */
export const VPN_PASSWORD = 'vpn-pass-4b7e2c';
/** An OpenVPN profile saved on Windows: CRLF, a bare auth-user-pass. */
export const PROFILE =
  'client\r\ndev tun\r\nremote vpn.example.net 1194\r\nauth-user-pass\r\n';

/** Renders vm-3's files against the rig's server and serves them there. */
export async function serveGuestFiles(
  rig: GuestRig,
  overrides: Partial<VmConfig> = {},
  withAuth = true,
) {
  const files = await renderInstallFiles({
    config: sampleConfig({
      vnc_password: VNC_PASSWORD,
      telegram_url: rig.telegramUrl,
      ...overrides,
    }),
    flavour: 'subiquity',
    baseUrl: rig.base,
    desktop: true,
    vpnProfile: Buffer.from(PROFILE),
    vpnAuth: withAuth ? Buffer.from(`vpnuser\n${VPN_PASSWORD}\n`) : null,
    templatesDir: TEMPLATES_DIR,
  });
  for (const [name, file] of files) rig.files.set(name, file.body);
  return files;
}

/** Renders, serves and puts them where hook.sh would: <root>/root/qvm/. Returns the env file. */
export async function stageGuestFiles(
  rig: GuestRig,
  overrides: Partial<VmConfig> = {},
  withAuth = true,
) {
  const files = await serveGuestFiles(rig, overrides, withAuth);
  const qvm = join(rig.root, 'root', 'qvm');
  await mkdir(qvm, { recursive: true });
  for (const [name, file] of files)
    await writeFile(join(qvm, name), file.body, { mode: 0o600 });
  return join(qvm, 'setup.env');
}

/** Runs the staged setup script with bash, as hook.sh's in-target would. */
export async function runSetup(
  rig: GuestRig,
  envFile: string,
  opts: Parameters<GuestRig['run']>[1] = {},
) {
  return rig.run(
    ['bash', join(rig.root, 'root/qvm/setup_vm_in_guest.sh'), envFile],
    opts,
  );
}

/** Every path under `root` with its type, mode and content; logs left out. */
export async function snapshot(root: string, dir = ''): Promise<string[]> {
  const lines: string[] = [];
  for (const name of (await readdir(join(root, dir))).sort()) {
    const rel = join(dir, name);
    if (rel.startsWith('var/log')) continue;
    const info = await lstat(join(root, rel));
    const perms = (info.mode & 0o777).toString(8);
    if (info.isSymbolicLink()) lines.push(`${rel} -> ${await readlink(join(root, rel))}`);
    else if (info.isDirectory())
      lines.push(`${rel}/ ${perms}`, ...(await snapshot(root, rel)));
    else
      lines.push(
        `${rel} ${perms} ${JSON.stringify(await readFile(join(root, rel), 'utf8'))}`,
      );
  }
  return lines;
}
