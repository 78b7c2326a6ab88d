import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Project, testPorts } from './helpers/project.ts';

/** Every file under build/ with its size, mtime and content hash-free text, for before/after checks. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else out[p] = `${(await stat(p)).mtimeMs} ${await readFile(p, 'base64')}`;
    }
  };
  await walk(dir);
  return out;
}

const fleet = (extra: string) =>
  `count: 2\naccel: tcg\n${testPorts()}defaults:\n  ram_size_mb: 640\n  telegram_url: null\n${extra}`;

describe('bad input stops the run before any work, with exit status 2', () => {
  test('a CPU model QEMU does not know is named with the closest known models', async () => {
    const project = await Project.create({
      flavour: 'subiquity',
      count: 2,
      fleet: fleet('vms:\n  vm-2:\n    cpu_model: Skylake-Clent-IBRS\n'),
    });
    try {
      const run = await project.cli(['run']);
      assert.equal(run.code, 2, run.stdout + run.stderr);
      assert.match(
        run.stderr,
        /vm-2\.cpu_model: QEMU does not know the CPU model 'Skylake-Clent-IBRS' \(closest: Skylake-Client-IBRS/,
      );
      assert.match(run.stderr, /qemu-system-x86_64 -cpu help/);
    } finally {
      await project.dispose();
    }
  });

  test('a missing ISO and a missing VPN profile are named', async () => {
    const project = await Project.create({
      flavour: 'subiquity',
      count: 2,
      fleet: fleet(''),
    });
    try {
      await rm(join(project.dir, 'vpn/vpn-2.ovpn'));
      await rm(join(project.dir, 'iso/ubuntu-desktop.iso'));
      const run = await project.cli(['run']);
      assert.equal(run.code, 2);
      assert.match(
        run.stderr,
        /vpn\/vpn-2\.ovpn: vm-2's OpenVPN profile vpn\/vpn-2\.ovpn does not exist/,
      );
      assert.doesNotMatch(run.stderr, /vpn-1\.ovpn/);
      assert.match(
        run.stderr,
        /the installer ISO iso\/ubuntu-desktop\.iso does not exist; copy your Ubuntu Desktop ISO there/,
      );
    } finally {
      await project.dispose();
    }
  });

  test('nothing already in build/ is changed by a run that stops on bad input', async () => {
    const project = await Project.create({
      flavour: 'subiquity',
      count: 2,
      fleet: fleet(''),
    });
    try {
      assert.equal((await project.cli(['run', 'info'])).code, 0);
      const before = await snapshot(join(project.dir, 'build'));
      await project.write('fleet.yaml', fleet('vms:\n  vm-2:\n    ram_size_mb: [\n'));
      const run = await project.cli(['run']);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /fleet\.yaml:\d+:\d+/);
      await project.write(
        'fleet.yaml',
        fleet(
          'vms:\n  vm-1:\n    mac_address: "52:54:00:00:00:01"\n  vm-2:\n    mac_address: "52:54:00:00:00:01"\n',
        ),
      );
      const dup = await project.cli(['run']);
      assert.equal(dup.code, 2);
      assert.deepEqual(await snapshot(join(project.dir, 'build')), before);
    } finally {
      await project.dispose();
    }
  });

  test('a port another process holds is reported before anything starts, naming the port and the process', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const project = await Project.create({
      flavour: 'subiquity',
      count: 1,
      fleet: `count: 1\naccel: tcg\nvms:\n  vm-1:\n    vnc_port_host: ${port}\n`,
    });
    try {
      const run = await project.cli(['run', 'vm-1']);
      assert.equal(run.code, 2, run.stdout + run.stderr);
      assert.match(
        run.stderr,
        new RegExp(
          `vm-1 cannot start: port ${port} on 127\\.0\\.0\\.1 is in use by pid ${process.pid} \\(node\\)`,
        ),
      );
      assert.doesNotMatch(run.stdout, /running/);
    } finally {
      server.close();
      await project.dispose();
    }
  });
});

describe('doctor', () => {
  test('doctor names each missing VPN profile, the ISO and its installer, and the CPU models', async () => {
    const project = await Project.create({
      flavour: 'ubiquity',
      count: 2,
      fleet: fleet(''),
    });
    try {
      await rm(join(project.dir, 'vpn/vpn-1.ovpn'));
      const doctor = await project.cli(['doctor']);
      assert.equal(doctor.code, 1, 'a failed check makes doctor exit 1');
      assert.match(doctor.stdout, /FAIL\s+vm-1 vpn\s+vpn\/vpn-1\.ovpn is missing/);
      assert.doesNotMatch(doctor.stdout, /vm-2 vpn/);
      assert.match(
        doctor.stdout,
        /ok\s+iso\s+iso\/ubuntu-desktop\.iso: Ubuntu 22\.04.*; installer ubiquity/,
      );
      assert.match(doctor.stdout, /kvm\s+/);
      assert.match(doctor.stdout, /(ok|warn)\s+cpu Nehalem-IBRS/);
      assert.match(doctor.stdout, /qemu-img\s+installed/);
    } finally {
      await project.dispose();
    }
  });
});
