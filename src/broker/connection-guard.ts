import type { Aedes, Client } from 'aedes';
import type { Duplex } from 'node:stream';

export interface ConnectionGuardOptions {
  /** A connection not authenticated (CONNACK 0) within this many ms is closed (docs/mqtt.md#connection-limits). */
  readonly connectTimeoutMs: number;
  /** Connections of one address not yet authenticated, at most (0 = no cap). */
  readonly maxUnauthenticatedPerAddress: number;
}

interface Pending {
  readonly address: string;
  readonly timer: NodeJS.Timeout;
}

/**
 * Guards one listener against idle connections holding file descriptors (docs/mqtt.md#connection-limits):
 * each connection has `connectTimeoutMs` to authenticate, and one address may hold at most
 * `maxUnauthenticatedPerAddress` connections that have not (a fleet behind carrier NAT shares an
 * address, so the cap counts only connections still in their handshake). Works on the transport
 * stream, before aedes parses a byte; authenticated = aedes' `client` event for that stream.
 */
export class ConnectionGuard {
  private readonly pending = new Map<Duplex, Pending>();
  private readonly perAddress = new Map<string, number>();
  /** Connections refused by the cap since the start (tests, operators). */
  refused = 0;
  /** Connections closed for not authenticating in time. */
  timedOut = 0;

  constructor(
    private readonly broker: Aedes,
    private readonly options: ConnectionGuardOptions,
  ) {
    broker.on('client', this.authenticated);
  }

  /**
   * A new connection from `address`: false when the address already holds its maximum of
   * unauthenticated ones (the caller closes it); else it is watched until it authenticates or closes.
   * `close` ends it when the time is up.
   */
  admit(stream: Duplex, address: string, close: () => void): boolean {
    const held = this.perAddress.get(address) ?? 0;
    const cap = this.options.maxUnauthenticatedPerAddress;
    if (cap > 0 && held >= cap) {
      this.refused++;
      return false;
    }
    this.perAddress.set(address, held + 1);
    const timer = setTimeout(() => {
      this.timedOut++;
      this.release(stream);
      close();
    }, this.options.connectTimeoutMs);
    timer.unref();
    this.pending.set(stream, { address, timer });
    stream.once('close', () => this.release(stream));
    return true;
  }

  /** Stops watching every connection (the listener closes). */
  close(): void {
    this.broker.off('client', this.authenticated);
    for (const stream of [...this.pending.keys()]) this.release(stream);
  }

  private readonly authenticated = (client: Client): void => {
    this.release(client.conn as unknown as Duplex);
  };

  private release(stream: Duplex): void {
    const entry = this.pending.get(stream);
    if (!entry) return;
    this.pending.delete(stream);
    clearTimeout(entry.timer);
    const held = (this.perAddress.get(entry.address) ?? 1) - 1;
    if (held > 0) this.perAddress.set(entry.address, held);
    else this.perAddress.delete(entry.address);
  }
}
