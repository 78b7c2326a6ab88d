/**
 * Random identity values and the rules they follow. Every generator takes
 * the random source as an argument, so tests can make it predictable (or
 * make it collide on purpose).
 */
import type { IdentityField } from './fleet-types.ts';

/** A source of random bytes; node:crypto's randomBytes by default. */
export type RandomBytes = (size: number) => Uint8Array;

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
// No 0/O, 1/l/I: the VNC password is read off a screen and typed by hand.
const SAFE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Formats of identity values, as vm.schema.json has them (normalised). */
export const IDENTITY_PATTERNS: Record<IdentityField, RegExp> = {
  mac_address: /^[0-9a-f][02468ace](?::[0-9a-f]{2}){5}$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  bios_serial: /^[A-Za-z0-9._-]{1,64}$/,
  vnc_password: /^[!-~]{1,8}$/,
};

/** The SHA-512 crypt form the guest installers accept. */
export const PASSWORD_HASH_PATTERN =
  /^\$6\$(?:rounds=[0-9]+\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}$/;

/** True if `value` is a well-formed value for the identity field. */
export function isIdentityValue(field: IdentityField, value: unknown): value is string {
  return typeof value === 'string' && IDENTITY_PATTERNS[field].test(value);
}

/** The form in which two values are compared: all but the VNC password ignore case. */
export function identityKey(field: IdentityField, value: string): string {
  return field === 'vnc_password' ? value : value.toLowerCase();
}

// Uniform characters: bytes that would bias the modulo are thrown away.
const randomChars = (random: RandomBytes, alphabet: string, length: number): string => {
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const byte of random(length * 2)) {
      if (byte >= limit) continue;
      out += alphabet[byte % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
};

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0'));

/** 52:54:00:xx:xx:xx: QEMU's own prefix, so the NIC reads as a QEMU NIC. */
export function generateMac(random: RandomBytes): string {
  return ['52', '54', '00', ...hex(random(3).subarray(0, 3))].join(':');
}

/** A random (version 4) UUID, RFC 9562 section 5.4. */
export function generateUuid(random: RandomBytes): string {
  const b = Uint8Array.from(random(16).subarray(0, 16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = hex(b).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** 12 upper-case letters and digits, like a vendor's serial number. */
export function generateSerial(random: RandomBytes): string {
  return randomChars(random, UPPER_ALNUM, 12);
}

/** 8 characters: the most VNC authentication uses. */
export function generateVncPassword(random: RandomBytes): string {
  return randomChars(random, SAFE_ALPHABET, 8);
}

/** A 16-character salt for SHA-512 crypt. */
export function generateSalt(random: RandomBytes): string {
  return randomChars(random, CRYPT_ALPHABET, 16);
}

/** The generator for each identity field. */
export const GENERATORS: Record<IdentityField, (random: RandomBytes) => string> = {
  mac_address: generateMac,
  uuid: generateUuid,
  bios_serial: generateSerial,
  vnc_password: generateVncPassword,
};
