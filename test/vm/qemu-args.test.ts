import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bootArgs } from '../../tasks/vm/boot-args.ts';
import { installArgs } from '../../tasks/vm/install-args.ts';
import { sampleConfig } from './helpers/render-fixtures.ts';

/** The value that follows each occurrence of `flag`. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

const config = sampleConfig({
  bios_serial: 'SER,IAL',
  vnc_port_console: 6003,
  vnc_port_host: 5903,
  ram_size_mb: 2096,
  cpu_model: 'EPYC-Rome',
});

const install = installArgs({
  config,
  accel: 'tcg',
  disk: '/b/disks/vm-3.qcow2.partial',
  iso: '/p/iso/ubuntu.iso',
  kernel: '/b/iso/vmlinuz',
  initrd: '/b/iso/initrd',
  append: 'autoinstall ds=nocloud-net;s=http://10.0.2.2:1/t/',
  serialLog: '/b/logs/vm-3.install.log',
  qmpSocket: '/b/run/vm-3.install.qmp',
  vncSecretFile: '/b/run/vm-3.install.vncpass',
});
const boot = bootArgs({
  config,
  disk: '/b/disks/vm-3.qcow2',
  runDir: '/b/run',
  accel: 'tcg',
  secretFile: '/b/run/vm-3.vnc-secret',
});

describe('QEMU command lines', () => {
  for (const [name, args] of [
    ['install', install],
    ['boot', boot],
  ] as const) {
    test(`${name}: the VM's identity, with one UUID source and commas doubled`, () => {
      assert.deepEqual(values(args, '-smbios'), [
        `type=1,serial=SER,,IAL,uuid=${config.uuid}`,
      ]);
      assert.equal(
        args.includes('-uuid'),
        false,
        'the last of -uuid and -smbios uuid= wins: pass one',
      );
      assert.deepEqual(
        values(args, '-cpu'),
        ['EPYC-Rome'],
        'never ,enforce (TCG drops features)',
      );
      assert.deepEqual(values(args, '-m'), ['2096']);
      assert.deepEqual(values(args, '-smp'), [String(config.vcpus)]);
      assert.deepEqual(values(args, '-accel'), ['tcg']);
      assert.deepEqual(values(args, '-device'), [
        `virtio-net-pci,netdev=net0,mac=${config.mac_address}`,
      ]);
    });

    test(`${name}: the console VNC is on the listen address and takes its password from a secret file`, () => {
      assert.deepEqual(values(args, '-vnc'), ['127.0.0.1:103,password-secret=vncsec']);
      assert.match(values(args, '-object')[0]!, /^secret,id=vncsec,file=\/b\/run\//);
      assert.equal(
        args.some((a) => a.includes(config.vnc_password)),
        false,
        'no password on the command line',
      );
    });
  }

  test("install boots the installer's kernel with -no-reboot and keeps the ISO as CD-ROM", () => {
    assert.ok(install.includes('-no-reboot'));
    assert.deepEqual(values(install, '-kernel'), ['/b/iso/vmlinuz']);
    assert.deepEqual(values(install, '-initrd'), ['/b/iso/initrd']);
    assert.deepEqual(values(install, '-append'), [
      'autoinstall ds=nocloud-net;s=http://10.0.2.2:1/t/',
    ]);
    assert.ok(
      values(install, '-drive').includes(
        'file=/p/iso/ubuntu.iso,media=cdrom,readonly=on',
      ),
    );
    assert.deepEqual(values(install, '-serial'), ['file:/b/logs/vm-3.install.log']);
    assert.equal(install.includes('-daemonize'), false);
  });

  test('boot daemonizes with a pidfile and QMP, and forwards the guest VNC on the listen address only', () => {
    assert.ok(boot.includes('-daemonize'));
    assert.deepEqual(values(boot, '-pidfile'), ['/b/run/vm-3.pid']);
    assert.deepEqual(values(boot, '-qmp'), ['unix:/b/run/vm-3.qmp,server=on,wait=off']);
    // An empty host address would listen on 0.0.0.0 (INSTALLERS.md).
    assert.deepEqual(values(boot, '-netdev'), [
      'user,id=net0,hostfwd=tcp:127.0.0.1:5903-:5900',
    ]);
    assert.deepEqual(values(boot, '-name'), ['vm-3,process=qemu-vm-3']);
    assert.equal(boot.includes('-no-reboot'), false);
  });
});
