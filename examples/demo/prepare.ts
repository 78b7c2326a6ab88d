/**
 * Prepares the demo fleet: the fixture installer ISO (Subiquity flavour),
 * the demo guests' "installed system" kernel and initrd, and one demo VPN
 * profile per VM. Usage: npx tsx examples/demo/prepare.ts [DIR]
 * (DIR defaults to this folder; the demo fleet.yaml is copied to any other).
 */
import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFixtureIso } from '../../test/fixture/build-installer-iso.ts';
import { buildRunningGuest } from '../../test/fixture/build-running-guest.ts';

const here = dirname(fileURLToPath(import.meta.url));
const dir = resolve(process.argv[2] ?? here);
const COUNT = 3;

await mkdir(join(dir, 'iso'), { recursive: true });
await copyFile(await buildFixtureIso('subiquity'), join(dir, 'iso/ubuntu-desktop.iso'));

const guest = await buildRunningGuest();
await mkdir(join(dir, 'boot'), { recursive: true });
await copyFile(guest.kernel, join(dir, 'boot/vmlinuz'));
await copyFile(guest.initrd, join(dir, 'boot/initrd'));

await mkdir(join(dir, 'vpn'), { recursive: true, mode: 0o700 });
for (let n = 1; n <= COUNT; n++) {
  const file = join(dir, `vpn/vpn-${n}.ovpn`);
  await writeFile(
    file,
    `# demo profile for vm-${n}: no real server\nclient\ndev tun\nremote vpn-${n}.demo.invalid 1194\n`,
  );
  await chmod(file, 0o600);
}
if (dir !== here) await copyFile(join(here, 'fleet.yaml'), join(dir, 'fleet.yaml'));
console.log(
  `demo ready in ${dir}: run 'npx tsx ${join(here, '../../tasks')} run all -j 2' there`,
);
