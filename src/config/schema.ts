import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const host = z.string().min(1);
const perSecond = z.number().int().min(0);

/** `*` or origins separated by commas (docs/api.md#cors): `*` or the list, as a browser spells them. */
const corsOrigins = z.string().transform((text, ctx): '*' | string[] => {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 1 && entries[0] === '*') return '*';
  const bad = entries.find((entry) => !/^https?:\/\/[^/\s?#*]+$/.test(entry));
  if (entries.length === 0 || bad !== undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `must be * or origins (scheme://host[:port]) separated by commas${bad === undefined ? '' : `, not ${JSON.stringify(bad)}`}`,
    });
    return z.NEVER;
  }
  return entries.map((entry) => entry.toLowerCase());
});

/** The whole configuration after defaults, file and environment are merged (README.md#configuration). */
export const configSchema = z
  .object({
    db: z.string().min(1),
    /** SQLite `synchronous` (src/store/db.ts, docs/reliability.md): FULL survives power loss. */
    dbSynchronous: z.enum(['NORMAL', 'FULL']),
    http: z
      .object({
        host,
        port,
        bodyLimit: z.number().int().min(1024),
        requestTimeoutMs: z.number().int().min(100),
        headersTimeoutMs: z.number().int().min(100),
        corsOrigins,
        /** One log line per HTTP request (docs/operations.md#logs); every request then goes through fastify. */
        logRequests: z.boolean(),
      })
      .strict(),
    mqtt: z
      .object({
        host,
        port,
        wsPort: port,
        maxPayloadBytes: z.number().int().min(256),
        connectsPerSecondPerAddress: perSecond,
        maxFiltersPerSubscribe: z.number().int().min(1),
        maxSubscriptionsPerClient: z.number().int().min(1),
        maxTopicLength: z.number().int().min(64).max(65535),
        maxQueuedPerSession: z.number().int().min(0),
        maxInflightQos2: z.number().int().min(1),
        /** docs/mqtt.md#connection-limits: a connection has this long to authenticate. */
        connectTimeoutMs: z.number().int().min(100),
        /** docs/mqtt.md#connection-limits: connections still in their handshake per address (0 = no cap). */
        maxUnauthenticatedPerAddress: z.number().int().min(0),
      })
      .strict(),
    tls: z
      .object({
        cert: z.string().min(1).nullable(),
        key: z.string().min(1).nullable(),
        mqttsPort: port,
        httpsPort: port,
      })
      .strict()
      .refine((tls) => (tls.cert === null) === (tls.key === null), {
        message: 'TRACKCONF_TLS_CERT and TRACKCONF_TLS_KEY must be set together',
      }),
    rateLimit: z.object({ perCredential: perSecond, perAddress: perSecond }).strict(),
    /** What one tracker may send and keep (docs/mqtt.md#limits-on-what-a-tracker-sends). */
    trackerAnswers: z
      .object({
        perSecond,
        burst: z.number().int().min(1),
        acksKept: z.number().int().min(1),
        maxDepth: z.number().int().min(2).max(1000),
        logIntervalSeconds: z.number().int().min(1),
      })
      .strict(),
    login: z
      .object({
        maxFailures: z.number().int().min(1),
        windowSeconds: z.number().int().min(1),
        /** Password checks (scrypt) running at once, and waiting for a slot (docs/api.md#limits). */
        passwordChecks: z.number().int().min(1),
        passwordCheckQueue: z.number().int().min(0),
      })
      .strict(),
    sessionIdleDays: z.number().positive(),
    /** `GET /metrics` needs `Authorization: Bearer <token>` when set (docs/operations.md#metrics). */
    metrics: z.object({ token: z.string().min(1).nullable() }).strict(),
    /** This process' name in every log line; null: host name and pid (docs/operations.md#logs). */
    nodeId: z.string().min(1).nullable(),
    /** PostgreSQL instead of SQLite when set; it wins over `db` (docs/scaling.md). */
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .nullable(),
    /** The brokers of all nodes share subscriptions, sessions and messages through this Redis (docs/scaling.md). */
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// URL')
      .nullable(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    profilesDir: z.string().min(1),
    modelsFile: z.string().min(1),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
