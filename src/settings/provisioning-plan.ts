import { digest } from '../auth/crypto.js';
import type { ProfileRegistry } from '../profiles/index.js';
import type { Store, UserRow } from '../store/index.js';
import { dbLoginKey, firstOccurrence, loginKey, newCheckContext, resolveMaster, showUser, type CheckContext } from './provisioning-context.js';
import { checkGroups, checkTrackerGroups, type GroupPlan } from './provisioning-plan-groups.js';
import { checkTrackers, type FinalTracker, type TrackerPlan } from './provisioning-plan-trackers.js';
import { namedInFile, type ProvisioningFile, type SubuserEntry, type UserEntry } from './provisioning-schema.js';

export type { TrackerPlan } from './provisioning-plan-trackers.js';
export type { GroupPlan } from './provisioning-plan-groups.js';

export interface UserPlan {
  readonly index: number;
  readonly entry: UserEntry;
  readonly existing: UserRow | undefined;
  readonly apiKeys: readonly string[];
}

export interface SubuserPlan {
  readonly index: number;
  readonly entry: SubuserEntry;
  readonly existing: UserRow | undefined;
  readonly masterKey: string;
}

/** What the write needs beyond the file: the database rows each entry updates. */
export interface Plan {
  readonly file: ProvisioningFile;
  readonly users: readonly UserPlan[];
  readonly subusers: readonly SubuserPlan[];
  readonly groups: readonly GroupPlan[];
  readonly trackers: readonly TrackerPlan[];
  /** Profile codes that trackers use as models but the models table lacks (a store not opened by openCore). */
  readonly missingProfileModels: readonly string[];
}

/**
 * Every cross-reference rule, against the file and the database as they are now. Pure reads: run once
 * before the (slow) password hashing to fail fast, and again inside the write transaction.
 * `plan` is only fit to write when `problems` is empty. `raw`: the file as read, when `file` holds
 * only its well-formed entries (wellFormedEntries).
 */
export function checkPlan(store: Store, profiles: ProfileRegistry, file: ProvisioningFile, raw: unknown = file): { problems: string[]; plan: Plan } {
  const ctx = newCheckContext(store, profiles, file, namedInFile(raw), raw);
  const models = checkModels(ctx);
  const claimLogin = loginClaims(ctx);
  const users = checkUsers(ctx, claimLogin);
  const subusers = checkSubusers(ctx, claimLogin);
  const groups = checkGroups(ctx);
  const trackers = checkTrackers(ctx, models.isKnown);
  checkTrackerGroups(ctx, groups.owners, trackers.plans, trackers.finalTrackers);
  // Last: a binding may name a tracker the file defines, and its owner is known only now.
  checkBindings(ctx, subusers, trackers.finalTrackers);
  return {
    problems: ctx.problems,
    plan: { file, users, subusers, groups: groups.plans, trackers: trackers.plans, missingProfileModels: [...models.missingProfileModels] },
  };
}

interface ModelCodes {
  /** Whether a tracker may name `code` as its model. */
  isKnown(code: string): boolean;
  /** Profile codes isKnown accepted although the models table lacks them: the write adds them. */
  readonly missingProfileModels: ReadonlySet<string>;
}

/** Codes listed once, tracking profiles loaded. */
function checkModels(ctx: CheckContext): ModelCodes {
  const fileModels = new Map<string, number>();
  (ctx.file.models ?? []).forEach((model, i) => {
    const me = ctx.name('models', i);
    const first = firstOccurrence(fileModels, model.code, i);
    if (first !== undefined) ctx.problems.push(`${me}: code listed twice (also models[${first}])`);
    if (model.tracking_profile !== null && !ctx.profiles.get(model.tracking_profile)) {
      ctx.problems.push(`${me}: tracking_profile "${model.tracking_profile}" is not a loaded profile`);
    }
  });
  const missingProfileModels = new Set<string>();
  const isKnown = (code: string): boolean => {
    if (fileModels.has(code) || ctx.named.modelCodes.has(code) || ctx.store.trackers.findModel(code)) return true;
    if (ctx.profiles.get(code)) {
      missingProfileModels.add(code);
      return true;
    }
    return false;
  };
  return { isKnown, missingProfileModels };
}

type ClaimLogin = (section: 'users' | 'subusers', index: number, login: string) => void;

/** Logins are listed once across users and sub-users: both sections claim theirs through one function. */
function loginClaims(ctx: CheckContext): ClaimLogin {
  const claimed = new Map<string, { section: 'users' | 'subusers'; index: number }>();
  return (section, index, login) => {
    const first = firstOccurrence(claimed, loginKey(login), { section, index });
    if (!first) return;
    const me = ctx.name(section, index);
    ctx.problems.push(
      first.section !== section
        ? `${me}: listed both as user (users[${first.index}]) and as sub-user`
        : `${me}: login listed twice (also ${first.section}[${first.index}])`,
    );
  };
}

/** A user stays a master user, and its API keys belong to no one else. */
function checkUsers(ctx: CheckContext, claimLogin: ClaimLogin): UserPlan[] {
  const fileApiKeys = new Map<string, number>();
  return (ctx.file.users ?? []).map((user, i) => {
    const me = ctx.name('users', i);
    claimLogin('users', i, user.login);
    const existing = ctx.dbUser(user.login);
    if (existing && existing.master_id !== null) {
      ctx.problems.push(`${me}: is a sub-user in the database; it cannot become a master user`);
    }
    const apiKeys = [...new Set(user.api_keys ?? [])];
    for (const key of apiKeys) {
      const first = firstOccurrence(fileApiKeys, key, i);
      if (first !== undefined) {
        ctx.problems.push(`${me}: api key ${showKey(key)} is also listed for ${ctx.name('users', first)}`);
        continue;
      }
      const owner = ctx.store.users.findApiKeyOwner(digest(key));
      if (owner !== undefined && owner !== existing?.id) {
        ctx.problems.push(`${me}: api key ${showKey(key)} already belongs to another user (${showUser(ctx, owner)})`);
      }
    }
    return { index: i, entry: user, existing, apiKeys };
  });
}

/** Problems show only the start of an API key: enough to find it in the file, too little to use it. */
const showKey = (key: string): string => `${key.slice(0, 8)}…`;

/** A sub-user stays a sub-user, of a master user, and of the same one. Its bindings: checkBindings. */
function checkSubusers(ctx: CheckContext, claimLogin: ClaimLogin): SubuserPlan[] {
  return (ctx.file.subusers ?? []).map((sub, i) => {
    const me = ctx.name('subusers', i);
    claimLogin('subusers', i, sub.login);
    const existing = ctx.dbUser(sub.login);
    if (existing && existing.master_id === null) {
      ctx.problems.push(`${me}: is a master user in the database; it cannot become a sub-user`);
    }
    const master = resolveMaster(ctx, me, 'master', sub.master, 'is a sub-user, not a master user');
    if (master.kind === 'master' && existing && existing.master_id !== null && existing.master_id !== master.dbId) {
      ctx.problems.push(`${me}: is a sub-user of ${showUser(ctx, existing.master_id)} in the database; it cannot move to ${sub.master}`);
    }
    return { index: i, entry: sub, existing, masterKey: loginKey(sub.master) };
  });
}

/** Each tracker a sub-user is bound to belongs to the sub-user's master after the import. */
function checkBindings(ctx: CheckContext, subusers: readonly SubuserPlan[], finalTrackers: ReadonlyMap<number, FinalTracker>): void {
  // forEach: it skips the holes of entries refused for their shape (wellFormedEntries)
  subusers.forEach((plan) => {
    const me = ctx.name('subusers', plan.index);
    for (const trackerId of new Set(plan.entry.trackers ?? [])) {
      let ownerKey = finalTrackers.get(trackerId)?.ownerKey;
      if (ownerKey === undefined) {
        const row = ctx.dbTracker(trackerId);
        if (!row && ctx.named.trackerIds.has(trackerId)) continue; // its entry was refused for its shape
        if (!row) {
          ctx.problems.push(`${me}: tracker ${trackerId} is not a known tracker`);
          continue;
        }
        ownerKey = dbLoginKey(ctx, row.owner_id);
      }
      if (ownerKey !== plan.masterKey) {
        ctx.problems.push(`${me}: tracker ${trackerId} belongs to ${ownerKey}, not to its master ${plan.entry.master}`);
      }
    }
  });
}
