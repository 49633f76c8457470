import { dbLoginKey, firstOccurrence, loginKey, resolveMaster, showUser, type CheckContext } from './provisioning-context.js';
import type { FinalTracker, TrackerPlan } from './provisioning-plan-trackers.js';
import type { GroupEntry } from './provisioning-schema.js';

/**
 * The `groups` section of a provisioning file and the trackers' `group_id` (see provisioning-plan.ts):
 * after the import, every tracker's group is a group of the tracker's owner (docs/provisioning.md).
 */

export interface GroupPlan {
  readonly index: number;
  readonly entry: GroupEntry;
  /** The stored colour, kept when the entry gives none (undefined: a new group). */
  readonly existingColor: string | undefined;
}

/** Ids listed once; the owner is a master user. Returns the plans and each listed group's owner after the import. */
export function checkGroups(ctx: CheckContext): { plans: GroupPlan[]; owners: ReadonlyMap<number, string> } {
  const seen = new Map<number, number>();
  const owners = new Map<number, string>();
  const plans = (ctx.file.groups ?? []).map((entry, index): GroupPlan => {
    const me = ctx.name('groups', index);
    const first = firstOccurrence(seen, entry.id, index);
    if (first !== undefined) ctx.problems.push(`${me}: id ${entry.id} listed twice (also groups[${first}])`);
    else owners.set(entry.id, loginKey(entry.owner));
    resolveMaster(ctx, me, 'owner', entry.owner, 'is a sub-user; groups belong to master users');
    return { index, entry, existingColor: ctx.store.groups.findGroup(entry.id)?.color };
  });
  return { plans, owners };
}

/**
 * Each tracker entry's group (given, or kept from the database when the entry names none) belongs to
 * its owner; a listed group may change owner only when no tracker the file leaves alone is in it.
 */
export function checkTrackerGroups(
  ctx: CheckContext,
  groupOwners: ReadonlyMap<number, string>,
  trackers: readonly TrackerPlan[],
  finalTrackers: ReadonlyMap<number, FinalTracker>,
): void {
  const ownerOf = (groupId: number): string | undefined => {
    const listed = groupOwners.get(groupId);
    if (listed !== undefined) return listed;
    const row = ctx.store.groups.findGroup(groupId);
    return row ? dbLoginKey(ctx, row.owner_id) : undefined;
  };
  // forEach: entries refused for their shape are holes (wellFormedEntries).
  trackers.forEach(({ index, entry, id, existing }) => {
    const me = ctx.name('trackers', index);
    const given = entry.group_id;
    const kept = given === undefined && existing && id !== null ? (ctx.dbTracker(id)?.group_id ?? null) : null;
    const groupId = given === undefined ? kept : given === 0 ? null : given;
    if (groupId === null) return;
    const owner = ownerOf(groupId);
    if (owner === undefined) {
      ctx.problems.push(`${me}: group_id ${groupId} is not a known group`);
    } else if (owner !== loginKey(entry.owner)) {
      ctx.problems.push(
        given === undefined
          ? `${me}: stays in group ${groupId} of ${owner}, not a group of ${entry.owner}; give its group_id (0 for none)`
          : `${me}: group_id ${groupId} is a group of ${owner}, not of ${entry.owner}`,
      );
    }
  });
  const groups = ctx.file.groups ?? [];
  groups.forEach((group, index) => {
    if (groups.findIndex((other) => other?.id === group.id) !== index) return; // a duplicate id: reported already
    const others = ctx.store.groups
      .members(group.id)
      .filter((member) => !finalTrackers.has(member.id) && dbLoginKey(ctx, member.owner_id) !== loginKey(group.owner));
    if (others.length === 0) return;
    ctx.problems.push(
      `${ctx.name('groups', index)}: holds tracker${others.length > 1 ? 's' : ''} ${others.map((m) => m.id).join(', ')} ` +
        `of ${showUser(ctx, others[0]!.owner_id)}; its owner cannot change`,
    );
  });
}
