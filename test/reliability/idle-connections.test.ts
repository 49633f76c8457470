/**
 * Connection exhaustion (docs/mqtt.md#connection-limits): one address opens many idle TCP
 * connections and sends nothing. With the default cap (1,000 per address) the excess is closed at
 * once, the rest when `mqtt.connectTimeoutMs` ends, and a tracker from another address connects
 * meanwhile. Prints a `idle connection figures:` line (docs/reliability.md#7-hostile-clients).
 *
 * CI: 1,500 sockets. TRACKCONF_LONG_TESTS=1: 8,000 (both ends live in this process: 16,000
 * descriptors of the 20,000 `ulimit -n` allows here), or TRACKCONF_IDLE_SOCKETS=n.
 */
import type { Socket } from 'node:net';
import t from 'tap';
import { TELFM } from '../helpers/fleet.js';
import { LiteTracker, rawSocket } from '../helpers/lite-mqtt.js';
import { knob } from '../helpers/service.js';
import { freePort, startTestServer } from '../helpers/server.js';

const SOCKETS = knob('TRACKCONF_IDLE_SOCKETS', 1_500, 8_000);
// long enough to open them all first (the count of held ones is taken before any times out)
const TIMEOUT_MS = Math.max(8_000, SOCKETS * 2);
t.setTimeout(120_000 + SOCKETS * 10);

t.test(`${SOCKETS} idle sockets from one address`, async (t) => {
  const ts = await startTestServer(t, {
    config: { mqtt: { host: '127.0.0.1', port: 0, wsPort: await freePort(), connectTimeoutMs: TIMEOUT_MS } },
  });
  const port = ts.server.ports.mqtt!;
  const sockets: Socket[] = [];
  // counted from the sockets' state: one refused at once may close before its batch resolves
  const closedCount = () => sockets.filter((s) => s.destroyed).length;
  t.teardown(() => {
    for (const s of sockets) s.destroy();
  });
  for (let i = 0; i < SOCKETS; i += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, SOCKETS - i) }, () => rawSocket(port)));
    for (const socket of batch) {
      socket.on('error', () => undefined);
      sockets.push(socket);
    }
  }
  // The listener accepts in order: the tracker's CONNACK comes after every refusal's close.
  const tracker = await LiteTracker.connect(TELFM, { port, localAddress: '127.0.0.2' });
  t.teardown(() => tracker.destroy());
  t.pass('a tracker from another address connects while they are held');
  const refusedAtOnce = closedCount();
  const cap = ts.server.config.mqtt.maxUnauthenticatedPerAddress;
  t.equal(SOCKETS - refusedAtOnce, Math.min(SOCKETS, cap), `held: ${SOCKETS - refusedAtOnce} (the cap is ${cap}); closed at once: ${refusedAtOnce}`);
  const deadline = Date.now() + 60_000;
  while (closedCount() < SOCKETS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const closed = closedCount();
  t.equal(closed, SOCKETS, `every idle socket was closed (the held ones after mqtt.connectTimeoutMs = ${TIMEOUT_MS} ms)`);
  t.notOk(tracker.closed, 'the authenticated tracker stays connected');
  t.comment(
    `idle connection figures: sockets=${SOCKETS} cap=${cap} held=${SOCKETS - refusedAtOnce} closed_at_once=${refusedAtOnce} all_closed=${closed === SOCKETS}`,
  );
});
