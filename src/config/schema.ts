import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const host = z.string().min(1);
const perSecond = z.number().int().min(0);

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
      })
      .strict(),
    mqtt: z
      .object({
        host,
        port,
        wsPort: port,
        maxPayloadBytes: z.number().int().min(256),
        connectsPerSecondPerAddress: perSecond,
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
    login: z
      .object({ maxFailures: z.number().int().min(1), windowSeconds: z.number().int().min(1) })
      .strict(),
    sessionIdleDays: z.number().positive(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    profilesDir: z.string().min(1),
    modelsFile: z.string().min(1),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
