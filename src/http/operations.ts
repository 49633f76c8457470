import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/** The Prometheus exposition the service serves on `GET /metrics` (src/metrics.ts). */
export interface MetricsEndpoint {
  readonly contentType: string;
  text(): Promise<string>;
  /** When set, a scrape needs `Authorization: Bearer <token>`. */
  readonly token: string | null;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Compares digests, so the time taken says nothing about the token (not even its length). */
function bearerMatches(authorization: string | undefined, token: string): boolean {
  return timingSafeEqual(sha256(authorization ?? ''), sha256(`Bearer ${token}`));
}

/**
 * The operator's routes (docs/operations.md): liveness beside /health (readiness) and the metrics.
 * Not Navixy calls: plain JSON or text, no envelope.
 */
export function registerOperationsRoutes(app: FastifyInstance, metrics: MetricsEndpoint | undefined): void {
  app.get('/health/live', async () => ({ status: 'alive' }));
  if (metrics === undefined) return;
  const token = metrics.token;
  app.get('/metrics', async (request, reply) => {
    if (token !== null && !bearerMatches(request.headers.authorization, token)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ status: 'unauthorized' });
    }
    const text = await metrics.text();
    return reply.type(metrics.contentType).send(text);
  });
}
