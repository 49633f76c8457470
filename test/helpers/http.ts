/**
 * Helpers of the HTTP end-to-end suite (test/http/*.test.ts): exact error assertions, quick sessions
 * for sub-users without paying scrypt on every test, and a fleet with the rarer combinations
 * (a blocked device without profile, clones of a blocked and of a no-profile device).
 */
import type { Test } from 'tap';
import { digest, newToken } from '../../src/auth/crypto.js';
import { Errors, type ErrorName } from '../../src/errors.js';
import type { Server } from '../../src/server.js';
import { ALICE, BLOCKED, BOB, NO_PROFILE, fleetFile } from './fleet.js';
import type { ApiAnswer } from './server.js';

/** Asserts the exact Navixy error answer (docs/api.md#response-envelope, docs/errors.md): HTTP status, code, description, nothing else. */
export function expectError(t: Test, answer: ApiAnswer, name: ErrorName, parameters?: readonly string[], what?: string): void {
  const def = Errors[name];
  const label = `${what ?? name}: ${def.code}`;
  t.equal(answer.status, def.http, `${label} HTTP ${def.http} (${JSON.stringify(answer.body)})`);
  t.strictSame(answer.body.status, { code: def.code, description: def.description }, `${label} status`);
  t.equal(answer.body.success, false, `${label} success false`);
  if (parameters === undefined) {
    t.notOk('errors' in answer.body, `${label} has no errors list`);
    t.strictSame(Object.keys(answer.body).sort(), ['status', 'success'], `${label} has no other field`);
  } else {
    const errors = (answer.body.errors ?? []) as { parameter: unknown; error: unknown }[];
    t.strictSame(
      errors.map((e) => e.parameter),
      parameters,
      `${label} names ${parameters.join(', ')}`,
    );
    for (const e of errors) t.ok(typeof e.error === 'string' && e.error.length > 0, `${label} ${String(e.parameter)} explained`);
  }
}

/** Asserts a success answer; returns the body. */
export function expectOk(t: Test, answer: ApiAnswer, what = 'success'): Record<string, any> {
  t.equal(answer.status, 200, `${what}: HTTP 200 (${JSON.stringify(answer.body)})`);
  t.equal(answer.body.success, true, `${what}: success true`);
  return answer.body;
}

/** A session hash for a user created straight in the store (no scrypt): for sub-users that have no API key. */
export function sessionFor(server: Server, login: string): string {
  const user = server.store.users.findByLogin(login);
  if (!user) throw new Error(`no user ${login}`);
  const hash = newToken();
  server.store.users.createSession(digest(hash), user.id, Date.now());
  return hash;
}

/** A well-formed hash (32 lowercase hex) that no session or API key has. */
export const UNKNOWN_HASH = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';

/** A blocked device whose model has no tracking profile (208 before 214). */
export const BLOCKED_NO_PROFILE = { trackerId: 1010, deviceId: '356307042441070', secret: 'secret-blocked-panic-1010', model: 'panic_button' };
/** bob's clone of the blocked device 1003 (208 for clones). */
export const CLONE_OF_BLOCKED = 1011;
/** bob's clone of the no-profile device 1004 (214 before 219). */
export const CLONE_OF_NO_PROFILE = 1012;

/** The standard fleet plus the three trackers above. */
export function extendedFleet() {
  const base = fleetFile();
  return {
    ...base,
    trackers: [
      ...base.trackers,
      {
        id: BLOCKED_NO_PROFILE.trackerId,
        owner: ALICE.login,
        label: `Tracker ${BLOCKED_NO_PROFILE.trackerId}`,
        model: BLOCKED_NO_PROFILE.model,
        device_id: BLOCKED_NO_PROFILE.deviceId,
        device_secret: BLOCKED_NO_PROFILE.secret,
        blocked: true,
      },
      { id: CLONE_OF_BLOCKED, owner: BOB.login, label: 'Blocked (shared)', clone_of: BLOCKED.trackerId },
      { id: CLONE_OF_NO_PROFILE, owner: BOB.login, label: 'Panic (shared)', clone_of: NO_PROFILE.trackerId },
    ],
  };
}

export interface RawAnswer extends ApiAnswer {
  /** The body exactly as sent (to check for leaks and that it is JSON). */
  readonly text: string;
}

/** Any request over a real socket; the body must be JSON (the test fails otherwise). */
export async function raw(url: string, path: string, init: RequestInit = {}): Promise<RawAnswer> {
  const response = await fetch(`${url}/${path}`, init);
  const text = await response.text();
  let body: Record<string, any>;
  try {
    body = JSON.parse(text) as Record<string, any>;
  } catch {
    throw new Error(`not JSON (HTTP ${response.status}): ${text.slice(0, 200)}`);
  }
  return { status: response.status, body, headers: response.headers, text };
}

/** Config for suites that fire many requests quickly: rate limits off (rate-limit.test.ts tests them). */
export const NO_RATE_LIMIT = { rateLimit: { perCredential: 0, perAddress: 0 }, trackerAnswers: { perSecond: 0 } } as const;
