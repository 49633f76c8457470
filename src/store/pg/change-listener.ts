import pg from 'pg';

/** The channel every table's trigger notifies on commit (migrations.ts). */
export const CHANGES_CHANNEL = 'trackconf_changes';

export interface ChangeListenerOptions {
  readonly url: string;
  /** This node's own connection: its notifications are not news. */
  readonly ownPid: () => number;
  /** A table changed by another connection. */
  readonly changed: (table: string) => void;
  /** Listening started (true) or stopped (false, until it is back). */
  readonly listening: (up: boolean) => void;
  readonly warn: (message: string, err: unknown) => void;
  readonly retryMs?: number;
}

/** Hears other nodes' commits through LISTEN, reconnecting after a lost connection. */
export class ChangeListener {
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: ChangeListenerOptions) {}

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.url, application_name: 'trackconf listener' });
    client.on('notification', (message) => {
      if (message.processId !== this.options.ownPid()) this.options.changed(message.payload ?? '');
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    await client.connect();
    await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    if (this.stopped) {
      await client.end();
      return;
    }
    this.client = client;
    this.options.listening(true);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private lost(client: pg.Client, err: unknown): void {
    if (this.client !== client || this.stopped) return;
    this.client = undefined;
    this.options.listening(false);
    this.options.warn('database change listener lost: caches off until it is back', err);
    client.end().catch(() => undefined);
    this.retry();
  }

  private retry(): void {
    this.timer = setTimeout(() => {
      this.start().catch((err: unknown) => {
        this.options.warn('database change listener: reconnect failed', err);
        this.retry();
      });
    }, this.options.retryMs ?? 1_000);
    this.timer.unref();
  }
}
