import type { FastifyBaseLogger } from 'fastify';

type Bindings = Record<string, unknown>;
type Args = Parameters<FastifyBaseLogger['info']>;

/**
 * A request's child logger, created only when the request logs. fastify asks for a child (`{reqId}`)
 * on every request and pino's `child()` runs the redaction of the bindings (the service redacts
 * credential paths with wildcards): about 6% of a read's CPU in the benchmark profile, for a logger
 * used only when a request fails. What gets logged, and how (bindings, redaction, level), is
 * unchanged. Methods live on the prototype: a request allocates one small object.
 */
class LazyChildLogger {
  private instance: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: object,
  ) {}

  private real(): FastifyBaseLogger {
    return (this.instance ??= this.parent.child(this.bindings, this.options));
  }

  get level(): string {
    return (this.instance ?? this.parent).level;
  }

  set level(value: string) {
    this.real().level = value;
  }

  fatal(...args: Args): void {
    this.real().fatal(...args);
  }
  error(...args: Args): void {
    this.real().error(...args);
  }
  warn(...args: Args): void {
    this.real().warn(...args);
  }
  info(...args: Args): void {
    this.real().info(...args);
  }
  debug(...args: Args): void {
    this.real().debug(...args);
  }
  trace(...args: Args): void {
    this.real().trace(...args);
  }
  silent(...args: Args): void {
    this.real().silent(...args);
  }
  child(bindings: Bindings, options?: object): FastifyBaseLogger {
    return this.real().child(bindings, options);
  }
}

/** fastify's `childLoggerFactory` option. */
export function lazyChildLoggerFactory(logger: FastifyBaseLogger, bindings: Bindings, options: object): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, options) as unknown as FastifyBaseLogger;
}
