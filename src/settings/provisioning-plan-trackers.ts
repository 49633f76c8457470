import type { TrackerRow } from '../store/index.js';
import { dbLoginKey, firstOccurrence, loginKey, resolveMaster, showUser, type CheckContext } from './provisioning-context.js';
import type { TrackerEntry } from './provisioning-schema.js';

/** The `trackers` section of a provisioning file: its cross-reference checks (see provisioning-plan.ts). */

export interface TrackerPlan {
  readonly index: number;
  readonly entry: TrackerEntry;
  /** The explicit id, or the id of the existing tracker it reuses; null = a new id from SQLite. */
  readonly id: number | null;
  /** The tracker row exists already. */
  readonly existing: boolean;
}

/** A tracker the import defines or reuses: the first entry that resolved to it, and its owner after the import. */
export interface FinalTracker {
  readonly index: number;
  readonly ownerKey: string;
}

export interface TrackersCheck {
  readonly plans: TrackerPlan[];
  /** By tracker id; the sub-user bindings are checked against these owners. */
  readonly finalTrackers: ReadonlyMap<number, FinalTracker>;
}

/** One entry being checked. `reuseOwner`: the owner whose existing tracker an entry without id may take over. */
interface TrackerCheck {
  readonly me: string;
  readonly entry: TrackerEntry;
  readonly dbRow: TrackerRow | undefined;
  readonly reuseOwner: number | undefined;
}

/**
 * Per entry: its owner is a master user; the rules of a tracker with its own device or of a clone;
 * an owner change no sub-user would notice; and no two entries taking over the same existing tracker.
 */
export function checkTrackers(ctx: CheckContext, isKnownModel: (code: string) => boolean): TrackersCheck {
  const listedIds = checkListedOnce(ctx);
  const finalTrackers = new Map<number, FinalTracker>();
  const plans = (ctx.file.trackers ?? []).map((entry, index): TrackerPlan => {
    const me = ctx.name('trackers', index);
    const owner = resolveMaster(ctx, me, 'owner', entry.owner, 'is a sub-user; trackers belong to master users');
    const ownerDbId = owner.kind === 'master' ? owner.dbId : undefined;
    const dbRow = entry.id !== undefined ? ctx.dbTracker(entry.id) : undefined;
    const check: TrackerCheck = { me, entry, dbRow, reuseOwner: entry.id === undefined ? ownerDbId : undefined };
    const reusedId = entry.clone_of === undefined ? checkPrimary(ctx, check, listedIds, isKnownModel) : checkClone(ctx, check, entry.clone_of, listedIds);
    if (owner.kind === 'master') checkOwnerKept(ctx, check);

    const id = entry.id ?? reusedId ?? null;
    if (id !== null) {
      const first = finalTrackers.get(id);
      if (entry.id === undefined && first) {
        ctx.problems.push(`${me}: is the same tracker (${id}) as trackers[${first.index}]`);
      }
      finalTrackers.set(id, { index, ownerKey: loginKey(entry.owner) });
    }
    return { index, entry, id, existing: id !== null && (dbRow !== undefined || entry.id === undefined) };
  });
  return { plans, finalTrackers };
}

/** ids and device_ids are listed once. Returns tracker id → index of the (first) entry listing it. */
function checkListedOnce(ctx: CheckContext): ReadonlyMap<number, number> {
  const byId = new Map<number, number>();
  const byDeviceId = new Map<string, number>();
  (ctx.file.trackers ?? []).forEach((tracker, i) => {
    const me = ctx.name('trackers', i);
    const firstWithId = tracker.id === undefined ? undefined : firstOccurrence(byId, tracker.id, i);
    if (firstWithId !== undefined) {
      ctx.problems.push(`${me}: id ${tracker.id} listed twice (also trackers[${firstWithId}])`);
    }
    const firstWithDevice = tracker.device_id === undefined ? undefined : firstOccurrence(byDeviceId, tracker.device_id, i);
    if (firstWithDevice !== undefined) {
      ctx.problems.push(
        `${me}: device_id ${tracker.device_id} listed twice (also ${ctx.name('trackers', firstWithDevice)}); ` + 'share a device with clone_of',
      );
    }
  });
  return byId;
}

/**
 * Database trackers no entry names by id. One an entry names is redefined by the file: it neither
 * conflicts with the entry at hand nor may be taken over by it.
 */
const unlisted = <T extends { readonly id: number }>(rows: T[], listedIds: ReadonlyMap<number, number>): T[] => rows.filter((row) => !listedIds.has(row.id));

/**
 * A tracker with its own device: a known model, and a device no other tracker owns (it may take over
 * its owner's tracker on that device). Returns the id of the tracker it takes over.
 */
function checkPrimary(
  ctx: CheckContext,
  { me, entry, reuseOwner }: TrackerCheck,
  listedIds: ReadonlyMap<number, number>,
  isKnownModel: (code: string) => boolean,
): number | undefined {
  if (entry.model !== undefined && !isKnownModel(entry.model)) {
    ctx.problems.push(`${me}: model "${entry.model}" is not a known model`);
  }
  const device = entry.device_id !== undefined ? ctx.store.trackers.findDevice(entry.device_id) : undefined;
  if (!device) return undefined;
  const primaries = unlisted(ctx.store.provisioning.primaryTrackers(device.id), listedIds);
  const reused = reuseOwner === undefined ? undefined : primaries.find((p) => p.owner_id === reuseOwner);
  for (const other of primaries) {
    if (other === reused) continue;
    ctx.problems.push(
      `${me}: device_id ${device.device_id} already belongs to tracker ${other.id} of ` +
        `${showUser(ctx, other.owner_id)}; share it with clone_of ${other.id}`,
    );
  }
  return reused?.id;
}

/**
 * A clone: of a tracker that is no clone itself, and not itself a tracker with clones (it may take over
 * its owner's clone of the same target). Returns the id of the clone it takes over.
 */
function checkClone(ctx: CheckContext, { me, dbRow, reuseOwner }: TrackerCheck, cloneOf: number, listedIds: ReadonlyMap<number, number>): number | undefined {
  const targetIsClone = isClone(ctx, cloneOf, listedIds);
  if (targetIsClone === undefined) ctx.problems.push(`${me}: clone_of ${cloneOf} is not a known tracker`);
  else if (targetIsClone) ctx.problems.push(`${me}: clone_of ${cloneOf} is itself a clone`);
  if (dbRow) {
    const clones = unlisted(ctx.store.provisioning.clonesOf(dbRow.id), listedIds);
    if (clones.length > 0) {
      ctx.problems.push(`${me}: tracker ${dbRow.id} has clones in the database (${clones.map((c) => c.id).join(', ')}); ` + 'it cannot become a clone');
    }
  }
  if (reuseOwner === undefined || !ctx.dbTracker(cloneOf)) return undefined;
  return unlisted(ctx.store.provisioning.clonesOfOwner(cloneOf, reuseOwner), listedIds)[0]?.id;
}

/** Whether tracker `id` (as the file lists it, else as the database has it) is a clone; undefined: no such tracker. */
function isClone(ctx: CheckContext, id: number, listedIds: ReadonlyMap<number, number>): boolean | undefined {
  const listedAt = listedIds.get(id);
  const listed = listedAt === undefined ? undefined : ctx.file.trackers?.[listedAt];
  if (listed) return listed.clone_of !== undefined;
  const row = ctx.dbTracker(id);
  if (!row && ctx.named.trackerIds.has(id)) return false; // its entry was refused for its shape
  return row ? row.clone_of !== null : undefined;
}

/** Sub-users see trackers of their master only: an existing tracker bound to sub-users keeps its owner. */
function checkOwnerKept(ctx: CheckContext, { me, entry, dbRow }: TrackerCheck): void {
  if (!dbRow || dbLoginKey(ctx, dbRow.owner_id) === loginKey(entry.owner)) return;
  if (ctx.store.provisioning.bindings(dbRow.id).length > 0) {
    const currentOwner = ctx.dbLogin(dbRow.owner_id) ?? 'its owner';
    ctx.problems.push(`${me}: tracker ${dbRow.id} is bound to sub-users of ${currentOwner}; its owner cannot change`);
  }
}
