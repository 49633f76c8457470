import type { ProfileRegistry } from '../profiles/index.js';
import type { Store, TrackerRow, UserRow } from '../store/index.js';
import { entryName, type NamedInFile, type ProvisioningFile } from './provisioning-schema.js';

/**
 * What the cross-reference checks of every section of a provisioning file share (see
 * provisioning-plan.ts): the file, the problems found so far, and the database lookups.
 */

/** Logins are unique without regard to ASCII case (the column is COLLATE NOCASE). */
export const loginKey = (login: string): string => login.replace(/[A-Z]/g, (c) => c.toLowerCase());

export interface CheckContext {
  readonly store: Store;
  readonly profiles: ProfileRegistry;
  readonly file: ProvisioningFile;
  /** Every problem found so far, in the order found: the order ProvisioningError lists them in. */
  readonly problems: string[];
  /** Login keys of all `users` / all `subusers` of the file, duplicates included. */
  readonly fileUserKeys: ReadonlySet<string>;
  readonly fileSubuserKeys: ReadonlySet<string>;
  /** What the whole file names, entries refused for their shape included (see wellFormedEntries). */
  readonly named: NamedInFile;
  /** How problems name an entry: `users[0] (alice@example.com)`. */
  name(section: keyof ProvisioningFile, index: number): string;
  /** The database rows, each looked up at most once per check (a check only reads, so they stay true). */
  dbUser(login: string): UserRow | undefined;
  dbLogin(userId: number): string | undefined;
  dbTracker(id: number): TrackerRow | undefined;
}

export function newCheckContext(store: Store, profiles: ProfileRegistry, file: ProvisioningFile, named: NamedInFile, raw: unknown = file): CheckContext {
  const rawEntry = (section: keyof ProvisioningFile, index: number): unknown => (raw as Partial<Record<string, unknown[]>>)[section]?.[index];
  return {
    store,
    profiles,
    file,
    problems: [],
    fileUserKeys: new Set(named.userLogins.map(loginKey)),
    fileSubuserKeys: new Set(named.subuserLogins.map(loginKey)),
    named,
    name: (section, index) => entryName(section, index, rawEntry(section, index)),
    dbUser: memo((login: string) => store.users.findByLogin(login)),
    dbLogin: memo((userId: number) => store.users.findById(userId)?.login),
    dbTracker: memo((id: number) => store.trackers.findTracker(id)),
  };
}

function memo<K, V>(lookup: (key: K) => V): (key: K) => V {
  const cache = new Map<K, V>();
  return (key) => {
    if (!cache.has(key)) cache.set(key, lookup(key));
    return cache.get(key) as V;
  };
}

/**
 * Duplicate detection: records `value` as where `key` first appears and returns undefined, or, when
 * `key` was seen before, returns that first value and keeps it.
 */
export function firstOccurrence<K, V>(seen: Map<K, V>, key: K, value: V): V | undefined {
  const first = seen.get(key);
  if (first === undefined) seen.set(key, value);
  return first;
}

/** A database user as problems name it: the login, or `user 7` should the row be gone. */
export const showUser = (ctx: CheckContext, userId: number): string => ctx.dbLogin(userId) ?? `user ${userId}`;

/** The login key of a database user ('' should the row be gone: then it matches no login). */
export const dbLoginKey = (ctx: CheckContext, userId: number): string => loginKey(ctx.dbLogin(userId) ?? '');

/** `dbId` is undefined for a master user the import creates. */
export type MasterLookup = { readonly kind: 'master'; readonly dbId: number | undefined } | { readonly kind: 'subuser' } | { readonly kind: 'unknown' };

/**
 * What a sub-user's `master` or a tracker's `owner` names after the import: the file's users and
 * sub-users first (they win over the database), then the database. Adds a problem to the entry `me`
 * when that is not a master user: `<field> <login> is not a known user`, or `<field> <login> <asSubuser>`.
 */
export function resolveMaster(ctx: CheckContext, me: string, field: 'master' | 'owner', login: string, asSubuser: string): MasterLookup {
  const found = lookupMaster(ctx, login);
  if (found.kind === 'unknown') ctx.problems.push(`${me}: ${field} ${login} is not a known user`);
  else if (found.kind === 'subuser') ctx.problems.push(`${me}: ${field} ${login} ${asSubuser}`);
  return found;
}

function lookupMaster(ctx: CheckContext, login: string): MasterLookup {
  const key = loginKey(login);
  const row = ctx.dbUser(login);
  const dbMasterId = row?.master_id === null ? row.id : undefined;
  if (ctx.fileUserKeys.has(key)) return { kind: 'master', dbId: dbMasterId };
  if (ctx.fileSubuserKeys.has(key)) return { kind: 'subuser' };
  if (!row) return { kind: 'unknown' };
  return dbMasterId !== undefined ? { kind: 'master', dbId: dbMasterId } : { kind: 'subuser' };
}
