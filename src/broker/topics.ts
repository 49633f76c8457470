/**
 * Every MQTT topic (docs/mqtt.md#topics-and-payloads) is built and parsed here, nowhere else.
 *   trackers/<device_id>/config/tracking            service → tracker (retained)
 *   trackers/<device_id>/config/tracking/ack        tracker → service
 *   trackers/<device_id>/config/tracking/reported   tracker → service
 */
const ROOT = 'trackers';
const CONFIG = 'config/tracking';

export type TopicKind = 'config' | 'ack' | 'reported';

export function configTopic(deviceId: string): string {
  return `${ROOT}/${deviceId}/${CONFIG}`;
}

export function ackTopic(deviceId: string): string {
  return `${ROOT}/${deviceId}/${CONFIG}/ack`;
}

export function reportedTopic(deviceId: string): string {
  return `${ROOT}/${deviceId}/${CONFIG}/reported`;
}

/** The prefix every topic a tracker may subscribe to starts with. */
export function trackerSubscriptionPrefix(deviceId: string): string {
  return `${ROOT}/${deviceId}/config/`;
}

/** `{deviceId, kind}` of one of our topics; undefined for anything else. */
export function parseTopic(topic: string): { deviceId: string; kind: TopicKind } | undefined {
  const parts = topic.split('/');
  if (parts.length < 4 || parts.length > 5 || parts[0] !== ROOT || parts[2] !== 'config' || parts[3] !== 'tracking') {
    return undefined;
  }
  const deviceId = parts[1]!;
  if (deviceId === '' || deviceId === '+' || deviceId === '#') return undefined;
  if (parts.length === 4) return { deviceId, kind: 'config' };
  if (parts[4] === 'ack') return { deviceId, kind: 'ack' };
  if (parts[4] === 'reported') return { deviceId, kind: 'reported' };
  return undefined;
}

/** The device a topic belongs to (any topic under trackers/<id>/), or undefined. */
export function deviceOfTopic(topic: string): string | undefined {
  const parts = topic.split('/', 3);
  if (parts.length < 3 || parts[0] !== ROOT) return undefined;
  const deviceId = parts[1]!;
  return deviceId === '' || deviceId === '+' || deviceId === '#' ? undefined : deviceId;
}

/**
 * The device a subscription pattern is confined to, when its device level is a literal;
 * undefined when the pattern could match several devices (`+`, `#`).
 */
export function deviceOfPattern(pattern: string): string | undefined {
  return deviceOfTopic(pattern);
}

/** MQTT topic matching with `+` and `#` (MQTT 3.1.1 §4.7). */
export function topicMatches(pattern: string, topic: string): boolean {
  if (pattern === topic) return true;
  const p = pattern.split('/');
  const t = topic.split('/');
  for (let i = 0; i < p.length; i++) {
    const level = p[i];
    if (level === '#') return !(i === 0 && topic.startsWith('$'));
    if (i >= t.length) return false;
    if (level === '+') {
      if (i === 0 && topic.startsWith('$')) return false;
      continue;
    }
    if (level !== t[i]) return false;
  }
  return p.length === t.length;
}
