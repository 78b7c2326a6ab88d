/**
 * The installer kernel's command line for each flavour, exactly as
 * docs/contracts.md spells it, and the check on BASE (the install server's
 * per-install URL) that render.ts shares. Why each word is there:
 * ../shared/reference/INSTALLERS.md.
 */
import { ConfigError } from '../engine/errors.ts';
import type { Flavour } from './config-types.ts';

const CONSOLE = 'console=ttyS0,115200n8';

// BASE lands in kernel command lines, shell single quotes, debconf values and
// YAML: only characters that mean nothing special in any of them.
const BASE_URL = /^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?(?:\/[A-Za-z0-9._~-]+)*\/?$/;

/**
 * Checks BASE and returns it with exactly one trailing `/`, the form every
 * served path is appended to (`BASEubuntu.seed`). Throws when it holds
 * anything but a plain http(s) URL (no query, quotes, spaces or `;`).
 */
export function normalizeBaseUrl(baseUrl: string): string {
  if (!BASE_URL.test(baseUrl)) {
    throw new Error(
      `baseUrl: expected a plain http URL such as http://10.0.2.2:8080/<token>/, got ${JSON.stringify(baseUrl)}`,
    );
  }
  return baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
}

/**
 * The `-append` string for the installer kernel. `extraArgs` is the fleet's
 * `installer.extra_kernel_args`, appended as they are; each must be one word.
 */
export function kernelCommandLine(
  flavour: Flavour,
  baseUrl: string,
  extraArgs: string[],
): string {
  const base = normalizeBaseUrl(baseUrl);
  const extra = extraArgs.map(checkExtraArg);

  switch (flavour) {
    case 'ubiquity':
      // casper reads `url=` and chokes on `preseed/url=`; `noprompt` stops it
      // waiting for ENTER at power-off. Words after `---` are copied into the
      // installed system's boot entry, so EXTRA goes before it.
      return [
        'boot=casper',
        'automatic-ubiquity',
        'noprompt',
        `url=${base}ubuntu.seed`,
        CONSOLE,
        ...extra,
        '---',
      ].join(' ');
    case 'subiquity':
      // cloud-init fetches `<s>meta-data` and `<s>user-data`: keep the
      // trailing `/`. Passed as one argv element to QEMU, `;` needs no quotes.
      return ['autoinstall', `ds=nocloud-net;s=${base}`, CONSOLE, ...extra].join(' ');
    case 'debian':
      return [
        'auto=true',
        'priority=critical',
        `preseed/url=${base}preseed.cfg`,
        CONSOLE,
        ...extra,
      ].join(' ');
    default:
      return unknownFlavour(flavour);
  }
}

function checkExtraArg(arg: string, index: number): string {
  if (/^[^\s\p{Cc}]+$/u.test(arg)) return arg;
  throw new ConfigError(
    `installer.extra_kernel_args[${index}]: expected one word without spaces or control characters, got ${JSON.stringify(arg)}; split it into separate list items`,
  );
}

function unknownFlavour(flavour: never): never {
  throw new Error(`unknown installer flavour ${JSON.stringify(flavour)}`);
}
