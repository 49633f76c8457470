/**
 * The Node ceiling: a bare `node:http` server answering every request with a fixed JSON body of the
 * size of a `tracker/settings/tracking/read` answer (after reading the request body, as fastify does).
 * Usage: node dist/bench/raw-http.js <port>
 */
import { createServer } from 'node:http';

const BODY = Buffer.from(
  JSON.stringify({
    success: true,
    value: {
      tracking_angle: 30,
      tracking_distance: 100,
      tracking_interval: 60,
      on_stop_tracking_interval: 180,
      sleep_mode: 'disabled',
      stop_detection: 'ignition',
    },
    sync: { version: 1, state: 'pending', changed_at: '2025-01-01T00:00:00.000Z' },
  }),
);

const port = Number(process.argv[2] ?? 0);
const server = createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': BODY.length });
    res.end(BODY);
  });
});
server.keepAliveTimeout = 72_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
