import { hashPassword, verifyPassword } from '../auth/crypto.js';
import type { ProfileRegistry } from '../profiles/index.js';
import type { Store } from '../store/index.js';
import { loginKey } from './provisioning-context.js';
import { checkPlan, type Plan } from './provisioning-plan.js';
import { describeIssues, provisioningFileSchema } from './provisioning-schema.js';
import { writePlan, type ProvisionReport } from './provisioning-write.js';

/**
 * `trackconf import` (docs/provisioning.md): validates a whole provisioning file against itself and the database,
 * then writes it in one transaction. Upserts users by login, devices by device_id, trackers by id;
 * API keys and sub-user bindings are only ever added. Re-importing the same file changes nothing.
 *
 * The steps live beside this file: provisioning-schema.ts (the shape of each entry),
 * provisioning-plan.ts (the cross-references, building a Plan), provisioning-write.ts (writing it).
 */

export type { ProvisionReport } from './provisioning-write.js';

/** The file was refused; nothing was written. `problems` lists every problem found, one line each. */
export class ProvisioningError extends Error {
  override readonly name = 'ProvisioningError';
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(
      problems.length === 1
        ? `invalid provisioning file: ${problems[0]}`
        : `invalid provisioning file (${problems.length} problems):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = Object.freeze([...problems]);
  }
}

/**
 * Imports a provisioning file (already JSON-parsed). Throws ProvisioningError listing every problem
 * when the file is refused; then nothing changed. All-or-nothing: one IMMEDIATE transaction.
 */
export async function provision(store: Store, profiles: ProfileRegistry, input: unknown): Promise<ProvisionReport> {
  const parsed = provisioningFileSchema.safeParse(input);
  if (!parsed.success) throw new ProvisioningError(describeIssues(parsed.error.issues, input));
  const first = checkPlan(store, profiles, parsed.data);
  if (first.problems.length > 0) throw new ProvisioningError(first.problems);
  // scrypt is asynchronous and better-sqlite3 transactions are not: hash before the transaction.
  const hashes = await passwordHashes(first.plan);
  return store.transaction(() => {
    // Again inside the transaction: another writer (the running server, another import) may have
    // changed the database while the passwords were hashed.
    const { problems, plan } = checkPlan(store, profiles, parsed.data);
    if (problems.length > 0) throw new ProvisioningError(problems);
    return writePlan(store, plan, hashes);
  });
}

/** The password hash to store per login: the stored one when the password still verifies against it. */
async function passwordHashes(plan: Plan): Promise<Map<string, string>> {
  const entries = [...plan.users, ...plan.subusers].map(async ({ entry, existing }) => {
    const keep = existing !== undefined && (await verifyPassword(entry.password, existing.password_hash));
    return [loginKey(entry.login), keep ? existing.password_hash : await hashPassword(entry.password)] as const;
  });
  return new Map(await Promise.all(entries));
}
