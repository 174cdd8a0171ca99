import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { accountKeyOf } from './lockout';

/** How long a device stays known to an account after its last sign-in there. */
export const KNOWN_DEVICE_SECONDS = 180 * 86_400;

const DEVICE_ID = /^[A-Za-z0-9_-]{22}$/;

/**
 * Devices that signed in to an account before (OWASP's "device cookie"): on each successful
 * sign-in the browser gets a token naming the account and a device id, signed with a key of the
 * server's secret. A device presenting one is counted on its own by the lockout and is never
 * slowed by failures from elsewhere. The token proves a past sign-in only: it opens nothing.
 */
export class KnownDevices {
  constructor(private readonly key: Buffer) {}

  /**
   * Part of the cookie's name, one cookie per account a browser signs in to: a keyed digest, so
   * the name does not spell out the username.
   */
  cookieTag(username: string): string {
    return this.#mac(`name\n${accountKeyOf(username)}`)
      .subarray(0, 12)
      .toString('base64url');
  }

  /** The device id a token names, if it is ours, for this account and still valid. */
  read(username: string, token: string): string | null {
    const [deviceId, expires, mac] = token.split('.');
    if (!deviceId || !DEVICE_ID.test(deviceId) || !expires || !/^\d{1,12}$/.test(expires) || !mac) return null;
    if (Number(expires) * 1000 <= Date.now()) return null;
    const expected = this.#mac(`device\n${accountKeyOf(username)}\n${deviceId}\n${expires}`);
    const given = Buffer.from(mac, 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected) ? deviceId : null;
  }

  /** A fresh token for the device (a new one when it had none), valid for `KNOWN_DEVICE_SECONDS`. */
  issue(username: string, deviceId: string | null): string {
    const id = deviceId ?? randomBytes(16).toString('base64url');
    const expires = String(Math.floor(Date.now() / 1000) + KNOWN_DEVICE_SECONDS);
    return `${id}.${expires}.${this.#mac(`device\n${accountKeyOf(username)}\n${id}\n${expires}`).toString('base64url')}`;
  }

  #mac(message: string): Buffer {
    return createHmac('sha256', this.key).update(message).digest();
  }
}
