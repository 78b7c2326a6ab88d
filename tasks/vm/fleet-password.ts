/**
 * Chooses each VM's stored password hash. A hash is kept while it still
 * matches the password in fleet.yaml, so vm-N.json does not change from
 * one run to the next (a fresh salt would make every VM stale).
 */
import { encrypt, verify } from 'unixcrypt';
import { generateSalt, PASSWORD_HASH_PATTERN, type RandomBytes } from './fleet-random.ts';
import type { PasswordSetting } from './fleet-types.ts';

/** Returns the hash to store for a VM, given its setting and stored hash. */
export type PasswordHasher = (
  setting: PasswordSetting,
  stored: string | undefined,
) => string;

/**
 * A hasher for one resolution of the fleet. VMs with the same plain-text
 * password share one hash (and salt): SHA-512 crypt costs about 7 ms, so a
 * salt per VM would cost seconds per run on a large fleet, and the plain
 * text is the same in fleet.yaml anyway.
 */
export function createPasswordHasher(random: RandomBytes): PasswordHasher {
  const byPlain = new Map<string, string>();
  const checked = new Map<string, boolean>();

  const matches = (plain: string, hash: string) => {
    const key = `${plain}\0${hash}`;
    let ok = checked.get(key);
    if (ok === undefined) {
      ok = PASSWORD_HASH_PATTERN.test(hash) && safeVerify(plain, hash);
      checked.set(key, ok);
    }
    return ok;
  };

  return (setting, stored) => {
    if ('hash' in setting) return setting.hash;

    const { plain } = setting;
    if (stored !== undefined && matches(plain, stored)) {
      if (!byPlain.has(plain)) byPlain.set(plain, stored);
      return stored;
    }

    let hash = byPlain.get(plain);
    if (hash === undefined) {
      hash = encrypt(plain, `$6$${generateSalt(random)}`);
      byPlain.set(plain, hash);
    }
    return hash;
  };
}

// unixcrypt throws on a salt it cannot parse; that is simply "no match".
const safeVerify = (plain: string, hash: string) => {
  try {
    return verify(plain, hash);
  } catch {
    return false;
  }
};
