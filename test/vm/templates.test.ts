/**
 * The rendered answer files, served file sets and kernel command lines:
 * checked against the installers' own rules (Subiquity's schema, debconf's
 * parser, docs/contracts.md) rather than against copies of themselves.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';

import { ConfigError } from '../../tasks/engine/errors.ts';
import type { Flavour, VmConfig } from '../../tasks/vm/config-types.ts';
import { kernelCommandLine } from '../../tasks/vm/kernel-cmdline.ts';
import {
  renderInstallFiles,
  TEMPLATE_FILES,
  type RenderOptions,
} from '../../tasks/vm/render.ts';
import {
  BASE_URL,
  PASSWORD_HASH,
  sampleConfig,
  TEMPLATES_DIR,
} from './helpers/render-fixtures.ts';

const exec = promisify(execFile);
// A verbatim copy of canonical/subiquity's autoinstall schema (shared/reference/), so the check never skips.
const SCHEMA = fileURLToPath(
  new URL('./fixtures/subiquity-autoinstall-schema.json', import.meta.url),
);
const HOOK = (flavour: Flavour) =>
  `wget -q -O /tmp/hook.sh ${BASE_URL}hook.sh && sh /tmp/hook.sh ${flavour}`;

function render(flavour: Flavour, opts: Partial<RenderOptions> = {}) {
  return renderInstallFiles({
    config: sampleConfig(),
    flavour,
    baseUrl: BASE_URL,
    desktop: true,
    vpnProfile: Buffer.from('client\nremote vpn.example.net 1194\n'),
    vpnAuth: Buffer.from('vpnuser\nvpnpass\n'),
    templatesDir: TEMPLATES_DIR,
    ...opts,
  });
}

async function served(flavour: Flavour, name: string, opts: Partial<RenderOptions> = {}) {
  const file = (await render(flavour, opts)).get(name);
  assert.ok(file, `${name} is not served for ${flavour}`);
  return file.body.toString('utf8');
}

// question -> "type value", the way debconf reads a preseed line.
function preseedAnswers(text: string): Map<string, string> {
  const answers = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^(\S+)\s+(\S+)\s+(\S+)(?:\s(.*))?$/.exec(line);
    if (line.startsWith('#') || !match) continue;
    answers.set(match[2] ?? '', `${match[3]} ${match[4] ?? ''}`.trimEnd());
  }
  return answers;
}

// Runs `fn` on a temp file holding `body`, then removes it.
async function withTempFile<T>(body: string | Buffer, fn: (path: string) => Promise<T>) {
  const dir = await mkdtemp(join(tmpdir(), 'qvm-render-'));
  try {
    await writeFile(join(dir, 'file'), body);
    return await fn(join(dir, 'file'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function checkWithDebconf(text: string): Promise<void> {
  const { stderr } = await withTempFile(text, (file) =>
    exec('debconf-set-selections', ['--checkonly', file]),
  );
  assert.equal(stderr, '', 'debconf-set-selections warned');
}

describe('kernel command lines', () => {
  test('ubiquity boots casper unattended and fetches the seed with url=', () => {
    assert.equal(
      kernelCommandLine('ubiquity', BASE_URL, []),
      `boot=casper automatic-ubiquity noprompt url=${BASE_URL}ubuntu.seed console=ttyS0,115200n8 ---`,
    );
    assert.doesNotMatch(kernelCommandLine('ubiquity', BASE_URL, []), /preseed\/url=/);
  });

  test('subiquity points NoCloud at BASE with its trailing /', () => {
    assert.equal(
      kernelCommandLine('subiquity', BASE_URL, []),
      `autoinstall ds=nocloud-net;s=${BASE_URL} console=ttyS0,115200n8`,
    );
  });

  test('debian runs in auto mode with preseed/url=', () => {
    assert.equal(
      kernelCommandLine('debian', BASE_URL, []),
      `auto=true priority=critical preseed/url=${BASE_URL}preseed.cfg console=ttyS0,115200n8`,
    );
  });

  test('extra args go before --- for ubiquity and at the end otherwise', () => {
    const extra = ['fixture.fail=apt', 'fixture.nopoweroff'];
    assert.match(
      kernelCommandLine('ubiquity', BASE_URL, extra),
      / fixture\.fail=apt fixture\.nopoweroff ---$/,
    );
    assert.match(
      kernelCommandLine('subiquity', BASE_URL, extra),
      /n8 fixture\.fail=apt fixture\.nopoweroff$/,
    );
    assert.match(
      kernelCommandLine('debian', BASE_URL, extra),
      /n8 fixture\.fail=apt fixture\.nopoweroff$/,
    );
  });

  test('a BASE without its trailing / gets one', () => {
    const line = kernelCommandLine('subiquity', BASE_URL.slice(0, -1), []);
    assert.match(line, /;s=http:\S+\/ console=/);
  });

  test('an extra arg with a space is rejected naming the field', () => {
    assert.throws(
      () => kernelCommandLine('debian', BASE_URL, ['quiet', 'a b']),
      (err: Error) =>
        err instanceof ConfigError &&
        /installer\.extra_kernel_args\[1\]/.test(err.message),
    );
  });

  test('a BASE with a quote, space or ; is rejected', () => {
    for (const bad of [
      `http://10.0.2.2:1/x'y/`,
      'http://10.0.2.2:1/a b/',
      'http://h/;reboot/',
    ]) {
      assert.throws(() => kernelCommandLine('debian', bad, []), /baseUrl/);
    }
  });
});

describe('Subiquity user-data', () => {
  for (const desktop of [true, false]) {
    test(`is valid against Subiquity's autoinstall schema (desktop: ${desktop})`, async () => {
      const schema = JSON.parse(await readFile(SCHEMA, 'utf8'));
      const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
      const doc = parseYaml(await served('subiquity', 'user-data', { desktop }));
      assert.ok(validate(doc.autoinstall), JSON.stringify(validate.errors, null, 2));
    });
  }

  test('starts with #cloud-config and installs unattended, then powers off', async () => {
    const text = await served('subiquity', 'user-data');
    assert.ok(text.startsWith('#cloud-config\n'));
    const { autoinstall } = parseYaml(text);
    assert.equal(autoinstall.version, 1);
    assert.deepEqual(autoinstall.identity, {
      realname: 'alice',
      username: 'alice',
      hostname: 'desk-03',
      password: PASSWORD_HASH,
    });
    assert.deepEqual(autoinstall['late-commands'], [HOOK('subiquity')]);
    assert.equal(autoinstall.shutdown, 'poweroff');
    assert.equal(autoinstall.locale, 'en_US.UTF-8');
    assert.deepEqual(autoinstall.keyboard, { layout: 'us' });
    assert.equal(autoinstall.timezone, 'Europe/Berlin');
  });

  test('error-commands report failure to BASE unless a report already went out', async () => {
    const { autoinstall } = parseYaml(await served('subiquity', 'user-data'));
    const [command] = autoinstall['error-commands'];
    assert.match(command, /^\[ -e \/tmp\/qvm-reported \] \|\| \{ /);
    assert.ok(
      command.includes(
        `--post-file /tmp/qvm-error.log '${BASE_URL}report?status=failure'`,
      ),
    );
  });

  test('names the minimal desktop source only for desktop ISOs', async () => {
    const desktop = parseYaml(await served('subiquity', 'user-data', { desktop: true }));
    assert.deepEqual(desktop.autoinstall.source, { id: 'ubuntu-desktop-minimal' });
    const server = parseYaml(await served('subiquity', 'user-data', { desktop: false }));
    assert.equal(server.autoinstall.source, undefined);
  });

  test('meta-data is served, empty', async () => {
    assert.equal(await served('subiquity', 'meta-data'), '');
  });
});

describe('preseeds', () => {
  test('ubuntu.seed passes debconf-set-selections --checkonly', async () => {
    await checkWithDebconf(await served('ubiquity', 'ubuntu.seed'));
  });

  test('ubuntu.seed hooks success_command, powers off and never reboots', async () => {
    const answers = preseedAnswers(await served('ubiquity', 'ubuntu.seed'));
    assert.equal(answers.get('ubiquity/success_command'), `string ${HOOK('ubiquity')}`);
    assert.equal(answers.get('ubiquity/poweroff'), 'boolean true');
    assert.equal(answers.get('ubiquity/summary'), 'note');
    assert.equal(answers.has('ubiquity/reboot'), false);
    // Ubiquity ignores these; their presence would suggest they do something.
    for (const ignored of ['preseed/late_command', 'pkgsel/include', 'tasksel/first']) {
      assert.equal(answers.has(ignored), false, ignored);
    }
  });

  test('ubuntu.seed answers the user, partitioning and minimal install questions', async () => {
    const answers = preseedAnswers(await served('ubiquity', 'ubuntu.seed'));
    const expected: Record<string, string> = {
      'debian-installer/locale': 'string en_US.UTF-8',
      'keyboard-configuration/layoutcode': 'string us',
      'time/zone': 'string Europe/Berlin',
      'netcfg/get_hostname': 'string desk-03',
      'passwd/user-fullname': 'string alice',
      'passwd/username': 'string alice',
      'passwd/user-password-crypted': `password ${PASSWORD_HASH}`,
      'passwd/auto-login': 'boolean true',
      'ubiquity/minimal_install': 'boolean true',
      'partman-auto/method': 'string regular',
      'partman/confirm': 'boolean true',
      'partman/confirm_nooverwrite': 'boolean true',
      'partman-partitioning/confirm_write_new_label': 'boolean true',
      'partman/choose_partition': 'select finish',
    };
    for (const [question, answer] of Object.entries(expected)) {
      assert.equal(answers.get(question), answer, question);
    }
  });

  test('the Debian preseed passes debconf-set-selections --checkonly', async () => {
    await checkWithDebconf(await served('debian', 'preseed.cfg'));
  });

  test('the Debian preseed runs the hook as late_command, skips the last prompt and powers off', async () => {
    const answers = preseedAnswers(await served('debian', 'preseed.cfg'));
    assert.equal(answers.get('preseed/late_command'), `string ${HOOK('debian')}`);
    assert.equal(answers.get('finish-install/reboot_in_progress'), 'note');
    assert.equal(answers.get('debian-installer/exit/poweroff'), 'boolean true');
    assert.equal(
      answers.get('passwd/user-password-crypted'),
      `password ${PASSWORD_HASH}`,
    );
    assert.equal(answers.get('partman-auto/choose_recipe'), 'select atomic');
    assert.equal(answers.get('tasksel/first'), 'multiselect standard');
  });
});

describe('served files', () => {
  const SHARED = [
    'hook.sh',
    'setup_vm_in_guest.sh',
    'setup.env',
    'client.ovpn',
    'vpn.auth',
  ];

  test('each flavour serves its own answer files and the shared files', async () => {
    assert.deepEqual([...(await render('ubiquity')).keys()], ['ubuntu.seed', ...SHARED]);
    assert.deepEqual(
      [...(await render('subiquity')).keys()],
      ['user-data', 'meta-data', ...SHARED],
    );
    assert.deepEqual([...(await render('debian')).keys()], ['preseed.cfg', ...SHARED]);
    const withoutAuth = await render('debian', { vpnAuth: null });
    assert.equal(withoutAuth.has('vpn.auth'), false);
  });

  test('files holding a password, hash or VPN credential are secret', async () => {
    const secrets = [...(await render('subiquity'))]
      .filter(([, f]) => f.secret)
      .map(([n]) => n);
    assert.deepEqual(secrets, ['user-data', 'setup.env', 'client.ovpn', 'vpn.auth']);
  });

  test('setup.env gives bash every value back unchanged, quotes and all', async () => {
    const config = sampleConfig({ vnc_password: `a'b"c$d\`e\\f g` });
    const env = (await render('debian', { config, vpnAuth: null })).get('setup.env');
    const script = `. "$1"; printf '%s\\n' "$USERNAME" "$VNC_PASSWORD" "$HAS_VPN_AUTH" "$VPN_CHECK_HOST" "$TELEGRAM_URL" "$REPORT_URL"`;
    const { stdout } = await withTempFile(env?.body ?? '', (file) =>
      exec('bash', ['-euc', script, 'bash', file]),
    );
    assert.deepEqual(stdout.split('\n').slice(0, 6), [
      'alice',
      `a'b"c$d\`e\\f g`,
      '0',
      '10.8.0.1',
      'https://telegram.org/dl/desktop/linux',
      `${BASE_URL}report`,
    ]);
  });

  test('hook.sh carries BASE and whether vpn.auth exists', async () => {
    assert.match(
      await served('debian', 'hook.sh'),
      new RegExp(`^BASE='${BASE_URL}'\nHAS_VPN_AUTH='1'$`, 'm'),
    );
    assert.match(
      await served('debian', 'hook.sh', { vpnAuth: null }),
      /^HAS_VPN_AUTH='0'$/m,
    );
  });

  test('setup_vm_in_guest.sh and the VPN files are served verbatim', async () => {
    const files = await render('ubiquity');
    const script = await readFile(join(TEMPLATES_DIR, 'setup_vm_in_guest.sh'));
    assert.deepEqual(files.get('setup_vm_in_guest.sh')?.body, script);
    assert.equal(files.get('vpn.auth')?.body.toString(), 'vpnuser\nvpnpass\n');
  });

  test('TEMPLATE_FILES lists existing templates, the answer file first', () => {
    const answerFiles = {
      ubiquity: 'ubuntu.seed',
      subiquity: 'user-data',
      debian: 'debian-preseed.cfg',
    };
    for (const [flavour, files] of Object.entries(TEMPLATE_FILES)) {
      assert.equal(files[0], answerFiles[flavour as Flavour]);
      assert.ok(
        files.includes('installer-hook.sh') && files.includes('setup_vm_in_guest.sh'),
      );
      for (const file of files) assert.ok(existsSync(join(TEMPLATES_DIR, file)), file);
    }
  });
});

describe('rejected values', () => {
  const rejects = (config: VmConfig, pattern: RegExp, flavour: Flavour = 'subiquity') =>
    assert.rejects(render(flavour, { config }), (err: Error) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, pattern);
      return true;
    });

  test('a value with a newline is rejected, naming the field', async () => {
    const fields = [
      'username',
      'hostname',
      'locale',
      'keyboard_layout',
      'timezone',
      'vnc_password',
      'vpn_check_host',
      'telegram_url',
      'user_password_hash',
    ] as const;
    for (const field of fields) {
      const config = sampleConfig({ [field]: `${sampleConfig()[field]}\nextra` });
      await rejects(
        config,
        new RegExp(`vm-3: config field ${field} must be a single line.*found a newline`),
      );
    }
  });

  test('secrets are never echoed in the error', async () => {
    await assert.rejects(
      render('debian', { config: sampleConfig({ vnc_password: 'hunter2\n' }) }),
      (err: Error) => !err.message.includes('hunter2'),
    );
    await assert.rejects(
      render('debian', { config: sampleConfig({ user_password_hash: 'plain-text' }) }),
      (err: Error) =>
        /user_password_hash must be a crypt\(3\) hash/.test(err.message) &&
        !err.message.includes('plain-text'),
    );
  });

  test('a user name that would break paths is rejected with the value shown', async () => {
    await rejects(
      sampleConfig({ username: '../root' }),
      /config field username must be a login name.*got "\.\.\/root"/,
    );
  });

  test('an auth file without a password line is rejected, naming the file', async () => {
    await assert.rejects(
      render('debian', { vpnAuth: Buffer.from('vpnuser\n') }),
      /openvpn_auth_file vpn\/vpn-3\.auth must hold/,
    );
  });

  test('a template with an unknown placeholder is rejected, naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qvm-templates-'));
    try {
      await cp(TEMPLATES_DIR, dir, { recursive: true });
      const seed = join(dir, 'ubuntu.seed');
      await writeFile(
        seed,
        `${await readFile(seed, 'utf8')}d-i foo/bar string {{no_such_field}}\n`,
      );
      await assert.rejects(
        render('ubiquity', { templatesDir: dir }),
        /templates\/ubuntu\.seed: unknown placeholder \{\{no_such_field\}\}/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
