/**
 * VM identity: generated once, kept across runs, unique across the fleet
 * (checked against hand-set, stored and generated values), and written to
 * vm-N.json and vm_info.* with mode 0600.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { verify } from 'unixcrypt';
import type { VmConfig } from '../../tasks/vm/config-types.ts';
import { loadFleet } from '../../tasks/vm/fleet.ts';
import type { RandomBytes } from '../../tasks/vm/fleet-random.ts';
import { validateVmConfigShape, vmConfigKeyOrder } from '../../tasks/vm/fleet-schema.ts';
import {
  readStoredConfigs,
  vmConfigPath,
  writeVmConfig,
} from '../../tasks/vm/fleet-store.ts';
import { IDENTITY_FIELDS } from '../../tasks/vm/fleet-types.ts';
import { resolveConfigs } from '../../tasks/vm/identity.ts';
import {
  renderVmInfoJson,
  renderVmInfoTxt,
  writeVmInfo,
} from '../../tasks/vm/vm-info.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function project(yaml: string): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'identity-test-'));
  dirs.push(root);
  await writeFile(path.join(root, 'fleet.yaml'), yaml);
  return root;
}

/** A predictable random source: SHA-256 of seed and a counter. Counts calls by size. */
function seeded(seed: string): RandomBytes & { sizes: number[] } {
  let counter = 0;
  const sizes: number[] = [];
  const random = (size: number) => {
    sizes.push(size);
    const out = Buffer.alloc(size);
    for (let filled = 0; filled < size;) {
      filled += createHash('sha256')
        .update(`${seed}:${counter++}`)
        .digest()
        .copy(out, filled);
    }
    return out;
  };
  return Object.assign(random, { sizes });
}

/** Answers the first calls of a size from `script`, then falls back to `rest`. */
function scripted(script: Record<number, number[][]>, rest: RandomBytes): RandomBytes {
  return (size) => {
    const next = script[size]?.shift();
    return next ? Uint8Array.from({ length: size }, (_, i) => next[i] ?? 0) : rest(size);
  };
}

/** One run of the config step: load, read stored, resolve, write. */
async function run(root: string, random: RandomBytes = seeded('run')) {
  const { settings, specs } = await loadFleet(root);
  const build = path.join(root, 'build');
  const stored = await readStoredConfigs(build);
  const configs = resolveConfigs(settings, specs, stored.configs, {
    randomBytes: random,
  });
  const changed = await Promise.all(configs.map((c) => writeVmConfig(build, c)));
  await writeVmInfo(build, configs);
  return { configs, changed, warnings: stored.warnings, build };
}

const bytesOf = (build: string, vm: string) => readFile(vmConfigPath(build, vm), 'utf8');
const modeOf = async (file: string) => (await stat(file)).mode & 0o777;

test('the defaults give 10 schema-valid configs with distinct random identities', async () => {
  const { configs } = await run(await project(''));

  assert.equal(configs.length, 10);
  for (const c of configs) {
    assert.deepEqual(validateVmConfigShape(c), []);
    assert.match(c.mac_address, /^52:54:00(:[0-9a-f]{2}){3}$/);
    assert.match(
      c.uuid,
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    assert.match(c.bios_serial, /^[A-Z0-9]{12}$/);
    assert.match(c.vnc_password, /^[A-HJ-NP-Za-km-z2-9]{8}$/);
    assert.ok(verify('userpass', c.user_password_hash));
  }
  for (const field of IDENTITY_FIELDS) {
    assert.equal(new Set(configs.map((c) => c[field])).size, 10, field);
  }
  assert.deepEqual(
    configs.map((c) => c.ram_size_mb).filter((r) => r !== 2048),
    [2000, 2096, 2144],
  );
  assert.equal(new Set(configs.map((c) => c.cpu_model)).size, 7);
});

test('the same random source gives the same configs', async () => {
  const a = await run(await project('count: 4\n'), seeded('same'));
  const b = await run(await project('count: 4\n'), seeded('same'));
  assert.deepEqual(a.configs, b.configs);
});

test('a second run keeps every config byte-identical and rewrites nothing', async () => {
  const root = await project('');
  const first = await run(root, seeded('one'));
  const before = await Promise.all(
    first.configs.map((c) => bytesOf(first.build, c.vm_name)),
  );
  const mtime = (await stat(vmConfigPath(first.build, 'vm-1'))).mtimeMs;

  const second = await run(root, seeded('two'));

  assert.deepEqual(second.changed, Array(10).fill(false));
  assert.deepEqual(
    await Promise.all(second.configs.map((c) => bytesOf(second.build, c.vm_name))),
    before,
  );
  assert.equal((await stat(vmConfigPath(first.build, 'vm-1'))).mtimeMs, mtime);
});

test('raising count from 10 to 12 leaves vm-1 to vm-10 byte-identical', async () => {
  const root = await project('count: 10\n');
  const { build } = await run(root, seeded('ten'));
  const before = await Promise.all(
    Array.from({ length: 10 }, (_, i) => bytesOf(build, `vm-${i + 1}`)),
  );

  await writeFile(path.join(root, 'fleet.yaml'), 'count: 12\n');
  const { configs, changed } = await run(root, seeded('twelve'));

  assert.deepEqual(changed, [...Array(10).fill(false), true, true]);
  const after10 = await Promise.all(
    configs.slice(0, 10).map((c) => bytesOf(build, c.vm_name)),
  );
  assert.deepEqual(after10, before);
  for (const field of IDENTITY_FIELDS)
    assert.equal(new Set(configs.map((c) => c[field])).size, 12);
});

test('lowering count deletes nothing, and the VMs come back with their identity', async () => {
  const root = await project('count: 12\n');
  const { build } = await run(root, seeded('a'));
  const vm11 = await bytesOf(build, 'vm-11');

  await writeFile(path.join(root, 'fleet.yaml'), 'count: 10\n');
  const lowered = await run(root, seeded('b'));
  assert.equal(lowered.configs.length, 10);
  assert.ok((await readdir(path.join(build, 'vm_configs'))).includes('vm-12.json'));

  await writeFile(path.join(root, 'fleet.yaml'), 'count: 12\n');
  await run(root, seeded('c'));
  assert.equal(await bytesOf(build, 'vm-11'), vm11);
});

test('a VM beyond count keeps its identity reserved from new VMs', async () => {
  const root = await project('count: 3\n');
  const { build, configs } = await run(root, seeded('a'));
  await rm(vmConfigPath(build, 'vm-1'));
  await writeFile(path.join(root, 'fleet.yaml'), 'count: 1\n');

  // The source first offers vm-3's MAC to the new vm-1.
  const vm3Mac = configs[2]!.mac_address
    .split(':')
    .slice(3)
    .map((h) => parseInt(h, 16));
  const again = await run(root, scripted({ 3: [vm3Mac] }, seeded('b')));
  assert.notEqual(again.configs[0]!.mac_address, configs[2]!.mac_address);
});

// Bytes that make the generators produce exactly these values.
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const SAFE = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
const HAND = {
  mac: '52:54:00:aa:bb:cc',
  uuid: '0f8fad5b-d9cb-469f-a165-70867728950e',
  serial: 'QX7K2M9P4T1B',
  vnc: 'k7Rp2xQa',
};
const bytesFor = {
  mac: [0xaa, 0xbb, 0xcc],
  uuid: HAND.uuid
    .replace(/-/g, '')
    .match(/../g)!
    .map((h) => parseInt(h, 16)),
  serial: [...HAND.serial].map((ch) => ALNUM.indexOf(ch)),
  vnc: [...HAND.vnc].map((ch) => SAFE.indexOf(ch)),
};

test('generated values never repeat a value set by hand, even when the source offers it', async () => {
  const root = await project(`count: 2
vms:
  vm-1: { mac_address: "${HAND.mac}", uuid: ${HAND.uuid}, bios_serial: ${HAND.serial}, vnc_password: ${HAND.vnc} }
`);
  // vm-1 needs nothing generated, so the first calls of each size are vm-2's.
  const rest = seeded('rest');
  const random = scripted(
    { 3: [bytesFor.mac], 16: [bytesFor.uuid, bytesFor.vnc], 24: [bytesFor.serial] },
    rest,
  );
  const { configs } = await run(root, random);
  const [vm1, vm2] = configs as [VmConfig, VmConfig];

  assert.deepEqual(
    [vm1.mac_address, vm1.uuid, vm1.bios_serial, vm1.vnc_password],
    Object.values(HAND),
  );
  for (const field of IDENTITY_FIELDS) assert.notEqual(vm2[field], vm1[field], field);
  assert.ok(
    rest.sizes.includes(3) && rest.sizes.includes(24),
    'the source was asked again',
  );
});

test('generated values never repeat each other', async () => {
  const random = scripted(
    {
      3: [
        [1, 2, 3],
        [1, 2, 3],
      ],
    },
    seeded('x'),
  );
  const { configs } = await run(await project('count: 2\n'), random);
  assert.equal(configs[0]!.mac_address, '52:54:00:01:02:03');
  assert.notEqual(configs[1]!.mac_address, '52:54:00:01:02:03');
});

test('setting by hand a value another VM has stored is an error naming both VMs', async () => {
  const root = await project('count: 3\n');
  const { configs } = await run(root);
  await writeFile(
    path.join(root, 'fleet.yaml'),
    `count: 3\nvms:\n  vm-3:\n    mac_address: "${configs[1]!.mac_address}"\n`,
  );

  await assert.rejects(run(root), (e: Error) => {
    assert.match(
      e.message,
      /fleet\.yaml:4:18: vms\.vm-3\.mac_address: .* is also vm-2's stored mac_address/,
    );
    return true;
  });
});

test('hand-set duplicates handed straight to resolveConfigs name both VMs', async () => {
  const { settings, specs } = await loadFleet(await project('count: 2\n'));
  specs[0]!.identity.bios_serial = 'SAME1';
  specs[1]!.identity.bios_serial = 'same1';
  assert.throws(
    () => resolveConfigs(settings, specs, new Map()),
    /vms\.vm-2\.bios_serial: same1 is also vm-1's hand-set bios_serial/,
  );
});

test('a corrupt or half-valid stored config costs only what is broken, with a warning', async () => {
  const root = await project('count: 4\n');
  const first = await run(root, seeded('1'));
  await writeFile(vmConfigPath(first.build, 'vm-3'), '{ not json');
  const vm4 = JSON.parse(await bytesOf(first.build, 'vm-4'));
  await writeFile(
    vmConfigPath(first.build, 'vm-4'),
    JSON.stringify({ ...vm4, mac_address: 'zz' }),
  );

  const second = await run(root, seeded('2'));

  assert.equal(second.warnings.length, 2);
  assert.match(
    second.warnings[0]!,
    /vm-3\.json: ignored \(not valid JSON.*vm-3 gets a new identity/,
  );
  assert.match(
    second.warnings[1]!,
    /vm-4\.json: mac_address is malformed; vm-4 gets a new one/,
  );
  const [vm1, , vm3, vm4b] = second.configs as VmConfig[];
  assert.deepEqual(vm1, first.configs[0]);
  assert.notEqual(vm3!.uuid, first.configs[2]!.uuid);
  assert.notEqual(vm4b!.mac_address, 'zz');
  assert.equal(vm4b!.uuid, first.configs[3]!.uuid);
});

test('a stored password hash is kept until the password changes', async () => {
  const root = await project('count: 2\n');
  const first = await run(root, seeded('1'));
  const second = await run(root, seeded('2'));
  assert.equal(
    second.configs[0]!.user_password_hash,
    first.configs[0]!.user_password_hash,
  );

  await writeFile(
    path.join(root, 'fleet.yaml'),
    'count: 2\ndefaults:\n  password: "n3w pass"\n',
  );
  const third = await run(root, seeded('3'));
  assert.ok(verify('n3w pass', third.configs[0]!.user_password_hash));

  const hash = `$6$saltsalt$${'b'.repeat(86)}`;
  await writeFile(
    path.join(root, 'fleet.yaml'),
    `count: 2\nvms:\n  vm-2:\n    password_hash: "${hash}"\n`,
  );
  assert.equal((await run(root)).configs[1]!.user_password_hash, hash);
});

test('a resolved config that breaks vm.schema.json is a config error', async () => {
  const root = await project('count: 3\ndefaults:\n  ram_size_mb: 512\n');
  await assert.rejects(
    run(root),
    /vms\.vm-3\.ram_size_mb: vm-3's resolved value: expected at least 512, found 464/,
  );
});

test('vm-N.json is pretty JSON in schema key order, mode 0600, with no temp file left', async () => {
  const { build, configs } = await run(await project('count: 1\n'));
  const file = vmConfigPath(build, 'vm-1');
  const text = await readFile(file, 'utf8');

  assert.deepEqual(Object.keys(JSON.parse(text)), vmConfigKeyOrder());
  assert.equal(vmConfigKeyOrder()[0], 'vm_id');
  assert.match(text, /^\{\n {2}"vm_id": 1,\n {2}"vm_name": "vm-1",\n/);
  assert.equal(await modeOf(file), 0o600);
  assert.deepEqual(await readdir(path.dirname(file)), ['vm-1.json']);

  await chmod(file, 0o644);
  assert.equal(await writeVmConfig(build, configs[0]!), false);
  assert.equal(await modeOf(file), 0o600);
});

const sample = (n: number, over: Partial<VmConfig>): VmConfig => ({
  ...({} as VmConfig),
  vm_id: n,
  vm_name: `vm-${n}`,
  hostname: `vm-${n}`,
  cpu_model: 'EPYC',
  vcpus: 1,
  ram_size_mb: 2048,
  disk_size_gb: 20,
  listen_address: '127.0.0.1',
  vnc_port_host: 5899 + n,
  vnc_port_console: 5999 + n,
  username: 'vmuser',
  cpu_limit_percent: 80,
  openvpn_config_file: `vpn/vpn-${n}.ovpn`,
  ...over,
});
const two = [
  sample(10, {
    mac_address: '52:54:00:00:00:0a',
    vnc_password: 'a,b"c',
    uuid: '00000000-0000-4000-8000-00000000000a',
    bios_serial: 'SERIAL10',
  }),
  sample(2, {
    mac_address: '52:54:00:00:00:02',
    vnc_password: 'pw2',
    uuid: '00000000-0000-4000-8000-000000000002',
    bios_serial: 'SERIAL2',
  }),
];

test('vm_info.txt is the exact header, then one row per VM in vm_id order', () => {
  assert.equal(
    renderVmInfoTxt(two),
    'VM_Name,MAC_Address,VNC_Port_Host,VNC_Password,UUID,BIOS_Serial\n' +
      'vm-2,52:54:00:00:00:02,5901,pw2,00000000-0000-4000-8000-000000000002,SERIAL2\n' +
      'vm-10,52:54:00:00:00:0a,5909,"a,b""c",00000000-0000-4000-8000-00000000000a,SERIAL10\n',
  );
});

test('vm_info.json has more fields per VM, and any extra ones', () => {
  const { vms } = JSON.parse(renderVmInfoJson(two, { 'vm-2': { status: 'running' } }));
  assert.deepEqual(
    vms.map((v: VmConfig) => v.vm_name),
    ['vm-2', 'vm-10'],
  );
  assert.equal(vms[0].vnc_port_console, 6001);
  assert.equal(vms[0].vnc_display_console, 101);
  assert.equal(vms[0].cpu_model, 'EPYC');
  assert.equal(vms[0].status, 'running');
  assert.equal(vms[1].status, undefined);
});

test('vm_info.txt and vm_info.json are written with mode 0600', async () => {
  const { build } = await run(await project('count: 2\n'));
  const txt = await readFile(path.join(build, 'output', 'vm_info.txt'), 'utf8');
  assert.equal(txt.split('\n').length, 4);
  assert.equal(await modeOf(path.join(build, 'output', 'vm_info.txt')), 0o600);
  assert.equal(await modeOf(path.join(build, 'output', 'vm_info.json')), 0o600);
});
