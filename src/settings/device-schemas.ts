import { z } from 'zod';
import { nestingWithin } from './answer-limits.js';

/** Settings objects from trackers: bounded so a hostile tracker cannot grow the database. */
const settingsObject = z
  .record(z.string().max(64), z.unknown())
  .refine((value) => Object.keys(value).length <= 64, 'too many fields')
  .refine((value) => JSON.stringify(value).length <= 8192, 'too large');

/** `trackers/<device_id>/config/tracking/ack` (docs/mqtt.md#ack-tracker--service). */
export const ackPayload = z
  .object({
    version: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    status: z.enum(['applied', 'rejected']),
    reason: z.string().max(512).optional(),
    settings: settingsObject.optional(),
  })
  .strict();

/** `trackers/<device_id>/config/tracking/reported` (docs/mqtt.md#reported-tracker--service). */
export const reportedPayload = z.object({ settings: settingsObject }).strict();

export type AckPayload = z.infer<typeof ackPayload>;

/**
 * Parses a tracker's payload bytes; undefined when it is not the JSON the schema wants, or nests
 * deeper than `maxDepth` (checked on the bytes first: the schema's refinements walk the value).
 */
export function parsePayload<S extends z.ZodType>(schema: S, payload: Buffer, maxDepth: number): z.output<S> | undefined {
  if (!nestingWithin(payload, maxDepth)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  const result = schema.safeParse(value);
  return result.success ? result.data : undefined;
}
