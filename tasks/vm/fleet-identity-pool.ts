/**
 * The identity values already in use across the fleet, and who holds
 * each: the one place that decides whether two values are the same and
 * that hands out new random values no one holds.
 */
import { GENERATORS, identityKey, type RandomBytes } from './fleet-random.ts';
import type { IdentityField } from './fleet-types.ts';

/** Who holds a value, and whether it was set by hand in fleet.yaml. */
export interface Holder {
  vm: string;
  handSet: boolean;
}

// Generation retries on collision; this many in a row means a broken source.
const MAX_ATTEMPTS = 1000;

/** Identity values in use, per field, compared as identityKey says. */
export class IdentityPool {
  readonly #held = new Map<string, Holder>();

  /** Who holds `value` for `field`, if anyone. */
  holder(field: IdentityField, value: string): Holder | undefined {
    return this.#held.get(slot(field, value));
  }

  /**
   * Records `holder` as holding `value` unless someone else already does;
   * returns that earlier holder, or undefined when the claim succeeded.
   */
  claim(field: IdentityField, value: string, holder: Holder): Holder | undefined {
    const earlier = this.holder(field, value);
    if (earlier) return earlier;
    this.#held.set(slot(field, value), holder);
    return undefined;
  }

  /** A new random value for `field` that no one holds, now held by `vm`. */
  generate(field: IdentityField, vm: string, random: RandomBytes): string {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const value = GENERATORS[field](random);
      if (!this.claim(field, value, { vm, handSet: false })) return value;
    }
    throw new Error(
      `the random source gave ${MAX_ATTEMPTS} values in a row for ${field} that were all taken`,
    );
  }
}

const slot = (field: IdentityField, value: string) =>
  `${field}\0${identityKey(field, value)}`;
