import { hashPassword, verifyPassword } from '../auth/crypto.js';
import type { ProfileRegistry } from '../profiles/index.js';
import type { Store } from '../store/index.js';
import { loginKey } from './provisioning-context.js';
import { checkPlan, type Plan } from './provisioning-plan.js';
import { isObject } from '../json.js';
import { describeIssues, provisioningFileSchema, wellFormedEntries } from './provisioning-schema.js';
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
  if (!parsed.success) {
    // Every problem in one run: the shape of each entry, and the references of the well-formed ones.
    const references = checkPlan(store, profiles, wellFormedEntries(input), input).problems;
    throw new ProvisioningError(inFileOrder([...describeIssues(parsed.error.issues, input), ...references], input));
  }
  const first = checkPlan(store, profiles, parsed.data);
  if (first.problems.length > 0) throw new ProvisioningError(inFileOrder(first.problems, input));
  // scrypt is asynchronous and better-sqlite3 transactions are not: hash before the transaction.
  const hashes = await passwordHashes(first.plan);
  return store.transaction(() => {
    // Again inside the transaction: another writer (the running server, another import) may have
    // changed the database while the passwords were hashed.
    const { problems, plan } = checkPlan(store, profiles, parsed.data);
    if (problems.length > 0) throw new ProvisioningError(inFileOrder(problems, input));
    return writePlan(store, plan, hashes);
  });
}

/**
 * Problems in the order of the entries they name (sections as the file lists them), each once;
 * problems of the file as a whole first. Every problem starts with its entry's name (entryName).
 */
function inFileOrder(problems: readonly string[], input: unknown): string[] {
  const sections = isObject(input) ? Object.keys(input) : [];
  const position = (problem: string): [number, number] => {
    const entry = /^(\w+)(?:\[(\d+)\])?[: ]/.exec(problem);
    const section = entry ? sections.indexOf(entry[1]!) : -1;
    return section < 0 ? [-1, -1] : [section, entry?.[2] === undefined ? -1 : Number(entry[2])];
  };
  const placed = [...new Set(problems)].map((problem) => ({ problem, at: position(problem) }));
  // Array.prototype.sort is stable: the problems of one entry keep the order they were found in.
  placed.sort((a, b) => a.at[0] - b.at[0] || a.at[1] - b.at[1]);
  return placed.map((p) => p.problem);
}

/** The password hash to store per login: the stored one when the password still verifies against it. */
async function passwordHashes(plan: Plan): Promise<Map<string, string>> {
  const entries = [...plan.users, ...plan.subusers].map(async ({ entry, existing }) => {
    const keep = existing !== undefined && (await verifyPassword(entry.password, existing.password_hash));
    return [loginKey(entry.login), keep ? existing.password_hash : await hashPassword(entry.password)] as const;
  });
  return new Map(await Promise.all(entries));
}
