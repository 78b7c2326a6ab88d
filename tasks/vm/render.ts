/**
 * Renders the files the install server serves to one VM's installer
 * (docs/contracts.md): the flavour's answer file, hook.sh, the guest setup
 * script, setup.env and the OpenVPN files. Templates use `{{field}}`
 * placeholders named after VmConfig fields; each value is checked for the
 * formats it lands in, and one that could break a file is rejected with a
 * ConfigError naming its field. Reads the templates, nothing else.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDocument, visit } from 'yaml';

import { ConfigError } from '../engine/errors.ts';
import type { Flavour, VmConfig } from './config-types.ts';
import { normalizeBaseUrl } from './kernel-cmdline.ts';

/** A file served under BASE. A `secret` one must never be logged or kept in the clear. */
export interface ServedFile {
  body: Buffer;
  secret: boolean;
}

/** What `renderInstallFiles` needs for one VM's install. */
export interface RenderOptions {
  config: VmConfig;
  flavour: Flavour;
  /** BASE, `http://10.0.2.2:PORT/<token>/`; a missing trailing `/` is added. */
  baseUrl: string;
  /** Subiquity only: emit `source: ubuntu-desktop-minimal` (server ISOs lack it). */
  desktop: boolean;
  vpnProfile: Buffer;
  vpnAuth: Buffer | null;
  templatesDir: string;
}

const SHARED_TEMPLATES = ['installer-hook.sh', 'setup_vm_in_guest.sh'];

/** The template files (relative to templates/) behind each flavour's install: inputs of its fingerprint. */
export const TEMPLATE_FILES: Readonly<Record<Flavour, readonly string[]>> = {
  ubiquity: ['ubuntu.seed', ...SHARED_TEMPLATES],
  subiquity: ['user-data', ...SHARED_TEMPLATES],
  debian: ['debian-preseed.cfg', ...SHARED_TEMPLATES],
};

/** The answer file's one-line hook, the same for every flavour (docs/contracts.md). */
export function hookCommand(baseUrl: string, flavour: Flavour): string {
  const base = normalizeBaseUrl(baseUrl);
  return `wget -q -O /tmp/hook.sh ${base}hook.sh && sh /tmp/hook.sh ${flavour}`;
}

/** `'value'` for POSIX shells: safe for any string, including quotes and `$`. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * Every file served to the installer for one VM, keyed by its path under
 * BASE: the answer file(s) of the flavour only, hook.sh,
 * setup_vm_in_guest.sh, setup.env, client.ovpn and vpn.auth when given.
 */
export async function renderInstallFiles(
  opts: RenderOptions,
): Promise<Map<string, ServedFile>> {
  const { config, flavour } = opts;
  const base = normalizeBaseUrl(opts.baseUrl);
  checkConfig(config);
  checkVpnFiles(config, opts.vpnProfile, opts.vpnAuth);

  const values: Record<string, string> = {
    username: config.username,
    hostname: config.hostname,
    user_password_hash: config.user_password_hash,
    locale: config.locale,
    keyboard_layout: config.keyboard_layout,
    timezone: config.timezone,
    base_url: base,
    hook_command: hookCommand(base, flavour),
    has_vpn_auth: opts.vpnAuth ? '1' : '0',
  };
  const template = (name: string) => readFile(join(opts.templatesDir, name), 'utf8');
  const files = new Map<string, ServedFile>();

  // Answer files carry the password hash, so they are secret too.
  if (flavour === 'subiquity') {
    const userData = renderUserData(await template('user-data'), values, opts.desktop);
    files.set('user-data', secret(userData));
    files.set('meta-data', { body: Buffer.alloc(0), secret: false });
  } else {
    const [source, served] = ANSWER_FILES[flavour];
    files.set(served, secret(fill(source, await template(source), values, asPreseed)));
  }

  const hook = fill(
    'installer-hook.sh',
    await template('installer-hook.sh'),
    values,
    asQuoted,
  );
  files.set('hook.sh', { body: Buffer.from(hook), secret: false });
  const setupScript = await readFile(join(opts.templatesDir, 'setup_vm_in_guest.sh'));
  files.set('setup_vm_in_guest.sh', { body: setupScript, secret: false });
  files.set('setup.env', secret(renderSetupEnv(config, base, opts.vpnAuth !== null)));
  files.set('client.ovpn', { body: opts.vpnProfile, secret: true });
  if (opts.vpnAuth) files.set('vpn.auth', { body: opts.vpnAuth, secret: true });
  return files;
}

// Preseed flavours: template file, then its path under BASE.
const ANSWER_FILES = {
  ubiquity: ['ubuntu.seed', 'ubuntu.seed'],
  debian: ['debian-preseed.cfg', 'preseed.cfg'],
} as const;

function secret(text: string): ServedFile {
  return { body: Buffer.from(text), secret: true };
}

// The guest setup script's parameters (it sources this file with bash).
function renderSetupEnv(config: VmConfig, base: string, hasVpnAuth: boolean): string {
  const vars: Array<[string, string]> = [
    ['VM_NAME', config.vm_name],
    ['USERNAME', config.username],
    ['USER_PASSWORD_HASH', config.user_password_hash],
    ['VNC_PASSWORD', config.vnc_password],
    ['HAS_VPN_AUTH', hasVpnAuth ? '1' : '0'],
    ['VPN_CHECK_HOST', config.vpn_check_host ?? ''],
    ['TELEGRAM_URL', config.telegram_url ?? ''],
    ['REPORT_URL', `${base}report`],
    ['PROGRESS_URL', `${base}log`],
  ];
  const lines = vars.map(([name, value]) => `${name}=${shellQuote(value)}`);
  return `# setup_vm_in_guest.sh parameters for ${config.vm_name}; secret.\n${lines.join('\n')}\n`;
}

// user-data is parsed as YAML and values go in as data, so no value can
// change the document's structure; comments survive the round trip.
function renderUserData(
  template: string,
  values: Record<string, string>,
  desktop: boolean,
): string {
  const doc = parseDocument(template);
  if (doc.errors.length > 0) {
    throw new ConfigError(
      `templates/user-data is not valid YAML: ${doc.errors[0]?.message}`,
    );
  }
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string') {
        node.value = fill('user-data', node.value, values, (value) => value);
      }
    },
  });
  if (!desktop) doc.deleteIn(['autoinstall', 'source']);

  const text = doc.toString({ lineWidth: 0 });
  if (!text.startsWith('#cloud-config\n')) {
    throw new ConfigError('templates/user-data must start with the line #cloud-config');
  }
  return text;
}

type Escape = (value: string, name: string) => string;

function fill(
  file: string,
  template: string,
  values: Record<string, string>,
  escape: Escape,
): string {
  const text = template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) {
      const known = Object.keys(values).join(', ');
      throw new ConfigError(
        `templates/${file}: unknown placeholder {{${name}}}; known: ${known}`,
      );
    }
    return escape(value, name);
  });
  if (text.includes('{{')) {
    throw new ConfigError(
      `templates/${file}: a {{ is left after rendering; placeholders are {{lower_case}}`,
    );
  }
  return text;
}

// debconf reads one value per line: a trailing backslash would join the next
// line, and surrounding spaces would be trimmed away.
function asPreseed(value: string, name: string): string {
  if (/\\$|^\s|\s$/.test(value)) {
    throw new ConfigError(
      `${name}: a preseed value cannot start or end with a space or end with \\`,
    );
  }
  return value;
}

// hook.sh writes every placeholder inside single quotes.
function asQuoted(value: string): string {
  return value.replaceAll("'", `'\\''`);
}

// What each field may hold: the narrowest form the files above carry safely
// (user names end up in paths and .desktop Exec lines, hosts in ping's argv).
const FORMATS: ReadonlyArray<[keyof VmConfig, RegExp, string]> = [
  ['username', /^[a-z_][a-z0-9_-]{0,31}$/, 'a login name (a-z 0-9 _ -, at most 32)'],
  ['hostname', /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/, 'a host name'],
  ['user_password_hash', /^\$(?:6|5|y|2[aby])\$[./A-Za-z0-9$=,]+$/, 'a crypt(3) hash'],
  ['locale', /^[A-Za-z0-9_.@-]+$/, 'a locale such as en_US.UTF-8'],
  ['keyboard_layout', /^[A-Za-z0-9_()+,-]+$/, 'a keyboard layout such as us'],
  ['timezone', /^[A-Za-z0-9_+/-]+$/, 'a time zone such as Europe/Berlin'],
  ['vpn_check_host', /^[A-Za-z0-9][A-Za-z0-9.:-]*$/, 'a host name or IP address'],
  ['telegram_url', /^https?:\/\/\S+$/, 'an http(s) URL'],
];
const SINGLE_LINE: Array<keyof VmConfig> = [
  'vm_name',
  'vnc_password',
  ...FORMATS.map((f) => f[0]),
];
const SECRET_FIELDS = new Set(['vnc_password', 'user_password_hash']);

function checkConfig(config: VmConfig): void {
  const vm = `vm-${config.vm_id}`;
  for (const field of SINGLE_LINE) {
    const value = config[field];
    if (typeof value !== 'string') continue;
    const bad = /[\p{Cc}\u2028\u2029]/u.exec(value);
    if (bad) {
      throw new ConfigError(
        `${vm}: config field ${field} must be a single line without control characters; found ${describeChar(bad[0])} at character ${bad.index + 1}. Fix it in fleet.yaml.`,
      );
    }
  }
  for (const [field, pattern, expected] of FORMATS) {
    const value = config[field];
    if (value === null || (typeof value === 'string' && pattern.test(value))) continue;
    const got = SECRET_FIELDS.has(field) ? '' : `, got ${JSON.stringify(value)}`;
    throw new ConfigError(
      `${vm}: config field ${field} must be ${expected}${got}. Fix it in fleet.yaml.`,
    );
  }
  if (config.vnc_password === '') {
    throw new ConfigError(
      `${vm}: config field vnc_password is empty; x11vnc needs a password.`,
    );
  }
}

// An auth-user-pass file holds the user name on line 1, the password on line 2.
function checkVpnFiles(config: VmConfig, profile: Buffer, auth: Buffer | null): void {
  const vm = `vm-${config.vm_id}`;
  if (profile.length === 0) {
    throw new ConfigError(
      `${vm}: the OpenVPN profile ${config.openvpn_config_file} is empty.`,
    );
  }
  if (auth === null) return;

  const [user, password] = auth.toString('utf8').split(/\r?\n/);
  if (!user?.trim() || !password?.trim()) {
    const file = config.openvpn_auth_file ?? 'the OpenVPN auth file';
    throw new ConfigError(
      `${vm}: openvpn_auth_file ${file} must hold the user name on line 1 and the password on line 2.`,
    );
  }
}

function describeChar(char: string): string {
  if (char === '\n') return 'a newline';
  if (char === '\r') return 'a carriage return';
  if (char === '\t') return 'a tab';
  return `the control character U+${char.codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0')}`;
}
