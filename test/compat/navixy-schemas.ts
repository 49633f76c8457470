/**
 * Navixy's documented answers as strict zod schemas: what a typed Navixy client (the JavaScript SDK,
 * generated Java/C# models) expects to parse. `.strict()` wherever Navixy fixes the shape (the tracker
 * object, user_info, a group); envelopes stay open, since clients ignore trackconf's extensions
 * (`sync`). Shared by the compatibility suite (test/compat/*.test.ts).
 */
import { z } from 'zod';

const id = z.number().int().positive();
/** "yyyy-MM-dd HH:mm:ss" (Navixy's date-time, UTC here). */
const dateTime = z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
/** "yyyy-MM-dd" or a date-time: Navixy documents both for dates. */
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$/);
const hash = z.string().regex(/^[0-9a-f]{32}$/);

export const trackerSchema = z.strictObject({
  id,
  label: z.string(),
  group_id: z.number().int().nonnegative(),
  clone: z.boolean(),
  source: z.strictObject({
    id,
    device_id: z.string().min(1),
    model: z.string().min(1),
    blocked: z.boolean(),
    tariff_id: z.number().int(),
    status_listing_id: z.number().int().nullable(),
    creation_date: dateTime,
    tariff_end_date: date.nullable(),
    phone: z.string().nullable(),
  }),
  tag_bindings: z.array(z.strictObject({ tag_id: id, ordinal: z.number().int() })),
});
export type NavixyTracker = z.infer<typeof trackerSchema>;

export const userInfoSchema = z.strictObject({
  id,
  login: z.string().min(1),
  title: z.string(),
  first_name: z.string(),
  middle_name: z.string(),
  last_name: z.string(),
  legal_type: z.enum(['individual', 'legal_entity', 'sole_trader']),
  phone: z.string(),
  creation_date: dateTime,
  locale: z.string().regex(/^[a-z]{2}_[A-Z]{2}$/),
  time_zone: z.string().min(1),
  demo: z.boolean(),
  verified: z.boolean(),
});
export type NavixyUserInfo = z.infer<typeof userInfoSchema>;

export const groupSchema = z.strictObject({
  id,
  title: z.string(),
  color: z.string().regex(/^[0-9A-F]{6}$/),
});
export type NavixyGroup = z.infer<typeof groupSchema>;

const success = z.literal(true);

/** The answers of each call Navixy clients make, by call. */
export const answers = {
  auth: z.object({ success, type: z.literal('authenticated'), hash }),
  /** user/logout, user/session/renew: nothing but success. */
  empty: z.strictObject({ success }),
  userInfo: z.object({ success, user_info: userInfoSchema }),
  trackerList: z.object({ success, list: z.array(trackerSchema) }),
  trackerRead: z.object({ success, value: trackerSchema }),
  groupList: z.object({ success, list: z.array(groupSchema) }),
  settingsRead: z.object({
    success,
    value: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.array(z.union([z.number(), z.string(), z.boolean()]))])),
  }),
  settingsUpdate: z.object({ success }),
} as const;

export const errorSchema = z.strictObject({
  success: z.literal(false),
  status: z.strictObject({ code: z.number().int(), description: z.string().min(1) }),
  errors: z.array(z.strictObject({ parameter: z.string(), error: z.string() })).optional(),
});
