import t from 'tap';
import { ackTopic, configTopic, deviceOfPattern, deviceOfTopic, parseTopic, reportedTopic, topicMatches } from '../../src/broker/topics.js';

t.test('topicMatches: MQTT 3.1.1 wildcards', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['a/b', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    ['a/+', 'a/b', true],
    ['a/+', 'a/b/c', false],
    ['a/+', 'a/', true],
    ['+/b', 'a/b', true],
    ['+/+', '/b', true],
    ['a/+/c', 'a/x/c', true],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'b/c', false],
    ['#', 'a/b', true],
    ['#', '/', true],
    ['trackers/+/config/#', 'trackers/d1/config/tracking/ack', true],
    ['trackers/+/config/#', 'trackers/d1/status', false],
    // topics starting with $ are never matched by a leading wildcard
    ['#', '$SYS/broker', false],
    ['+/broker', '$SYS/broker', false],
    ['$SYS/#', '$SYS/broker', true],
    ['$SYS/+', '$SYS/broker', true],
  ];
  for (const [pattern, topic, expected] of cases) t.equal(topicMatches(pattern, topic), expected, `${pattern} ~ ${topic}`);
});

t.test('topics are built and parsed in one place', async (t) => {
  t.equal(configTopic('d1'), 'trackers/d1/config/tracking');
  t.same(parseTopic(configTopic('d1')), { deviceId: 'd1', kind: 'config' });
  t.same(parseTopic(ackTopic('d1')), { deviceId: 'd1', kind: 'ack' });
  t.same(parseTopic(reportedTopic('d1')), { deviceId: 'd1', kind: 'reported' });
  for (const other of [
    'trackers/d1/config/tracking/other',
    'trackers/+/config/tracking',
    'trackers//config/tracking',
    'x/d1/config/tracking',
    'trackers/d1/config',
  ]) {
    t.equal(parseTopic(other), undefined, other);
  }
  t.equal(deviceOfTopic('trackers/d1/anything'), 'd1');
  t.equal(deviceOfTopic('trackers/d1'), undefined, 'no level under the device');
  t.equal(deviceOfPattern('trackers/+/config/#'), undefined, 'a wildcard device level');
  t.equal(deviceOfPattern('trackers/#'), undefined);
  t.equal(deviceOfPattern('trackers/d1/config/#'), 'd1');
});
