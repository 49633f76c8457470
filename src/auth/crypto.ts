import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt parameters of new password hashes; stored with each hash so they can be raised later. */
const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 } as const;

function scryptAsync(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, { ...options, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** `scrypt$N$r$p$salt$key` (base64url parts). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.keylen, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** A hash of a random password: verifying an unknown login against it costs what a real check costs. */
export const DUMMY_PASSWORD_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

/** `derive`: where scrypt runs (the service passes its low-priority threads, src/auth/scrypt-threads.ts). */
export async function verifyPassword(
  password: string,
  stored: string,
  derive: (password: string, salt: Buffer, keylen: number, options: ScryptOptions) => Promise<Buffer> = scryptAsync,
): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, key] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(key, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Session hashes, API keys and device secrets are kept only as this digest. */
export function digest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export function digestMatches(secret: string, stored: Buffer): boolean {
  const actual = digest(secret);
  return stored.length === actual.length && timingSafeEqual(actual, stored);
}

/** 32 lowercase hex characters: the shape of a Navixy session hash and API key. */
export function newToken(): string {
  return randomBytes(16).toString('hex');
}

export const TOKEN_PATTERN = /^[0-9a-f]{32}$/;

/** A device secret a person can paste: 24 random bytes, base64url. */
export function newDeviceSecret(): string {
  return randomBytes(24).toString('base64url');
}
