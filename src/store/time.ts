/**
 * An ISO-8601 UTC time (`2026-03-01T09:15:10.204Z`, as the store writes them) in Navixy's date-time
 * form, `2026-03-01 09:15:10` (docs/api.md#the-tracker-object). Text already in that form is kept.
 */
export function navixyDateTime(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})/.exec(iso);
  return match ? `${match[1]!} ${match[2]!}` : iso;
}
