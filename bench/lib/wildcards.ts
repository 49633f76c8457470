/**
 * The ten wildcard filters a hostile observer sends in one SUBSCRIBE (docs/mqtt.md#subscription-limits):
 * the bench times them, test/reliability/hostile-subscribe.test.ts asserts what they cost.
 */
export const HOSTILE_WILDCARDS: readonly string[] = [
  '#',
  'trackers/#',
  'trackers/+/config/#',
  'trackers/+/config/tracking',
  'trackers/+/+/tracking',
  '+/+/config/tracking',
  '+/#',
  'trackers/+/#',
  '+/+/+/+',
  'trackers/+/config/+',
];
