/**
 * The clean-session CONNECT of lean-clients.ts: aedes 1.2.0's lib/handlers/connect.js step by step
 * (same order, hooks, CONNACK codes, events and errors), skipping the four steps that are no-ops for
 * a client id without session state (see lean-clients.ts for why that is exact).
 */
import { randomUUID } from 'node:crypto';
import { pipeline, type Transform } from 'node:stream';
import type { LeanParser } from './lean-parser.js';

export type Done = (err?: Error | null) => void;

export interface ConnectPacket {
  readonly cmd: 'connect';
  readonly clean?: boolean;
  readonly clientId?: string;
  readonly protocolVersion?: number;
  readonly keepalive?: number;
  readonly username?: string;
  readonly password?: Buffer;
  readonly will?: unknown;
}

export interface Packet {
  readonly cmd: string;
}

export type PersistenceMethod = (...args: unknown[]) => Promise<unknown>;

/** The part of aedes' persistence API the connect steps use (promise style, as aedes 1.2 calls it). */
export interface Persistence {
  cleanSubscriptions(client: unknown): Promise<unknown>;
  delWill(client: unknown): Promise<unknown>;
  putWill(client: unknown, will: unknown): Promise<unknown>;
  cleanIncoming?(client: unknown): Promise<unknown>;
  outgoingStream(client: unknown): NodeJS.ReadableStream;
  outgoingUpdate(client: unknown, packet: unknown): Promise<unknown>;
  outgoingClearMessageId(client: unknown, packet: unknown): Promise<unknown>;
}

export interface Broker {
  readonly closed: boolean;
  readonly maxClientsIdLength: number;
  readonly keepaliveLimit: number;
  readonly persistence: Persistence;
  preConnect(client: LeanClient, packet: ConnectPacket, done: (err: Error | null, ok: boolean) => void): void;
  authenticate(
    client: LeanClient,
    username: string | undefined,
    password: Buffer | undefined,
    done: (err: (Error & { returnCode?: number }) | null, ok: boolean | null) => void,
  ): void;
  authorizeForward(client: LeanClient, packet: unknown): unknown;
  registerClient(client: LeanClient): void;
  emit(event: string, ...args: unknown[]): boolean;
}

export interface Parser {
  client: LeanClient;
  listeners(event: 'packet'): Array<(packet: Packet) => void>;
  on(event: 'packet', listener: (this: Parser, packet: Packet) => void): unknown;
  removeListener(event: 'packet', listener: (packet: Packet) => void): unknown;
}

/** The fields and methods of aedes' Client (lib/client.js) that its connect handler touches. */
export interface LeanClient {
  readonly broker: Broker;
  id: string | null;
  clean: boolean;
  version: number | null;
  connecting: boolean;
  connected: boolean;
  connackSent: boolean;
  readonly closed: boolean;
  will: unknown;
  _will: unknown;
  _authorized: boolean;
  _parsingBatch: number;
  _connectTimer: ReturnType<typeof setTimeout> | null;
  _keepaliveTimer: ReturnType<typeof setTimeout> | null;
  _keepaliveInterval: number;
  readonly _nextBatch: Done;
  readonly _parser: Parser;
  pause(): void;
  resume(): void;
  close(done?: () => void): void;
  emit(event: string, ...args: unknown[]): boolean;
}

/** aedes' own modules the steps share with its handlers (loaded by file URL: aedes exports only its root). */
export interface AedesInternals {
  write(client: LeanClient, packet: object, done: Done): void;
  through(transform: (chunk: unknown, encoding: string, next: (err?: Error | null, chunk?: unknown) => void) => void): Transform;
  QoSPacket: new (original: unknown, client: LeanClient) => { cmd: string; writeCallback: Done };
  /** The lighter mqtt-packet parser (lean-parser.ts), or why it is not used. */
  parsers: LeanParser | string;
}

const ERROR_MESSAGES = [
  '',
  'unacceptable protocol version',
  'identifier rejected',
  'Server unavailable',
  'bad user name or password',
  'not authorized',
  'keep alive limit exceeded',
];

/** `sessionIds` as seen by the steps: '\0unknown' means an id could not be read, so trust none. */
function mayHaveState(sessionIds: ReadonlySet<string>, id: string): boolean {
  return sessionIds.size > 0 && (sessionIds.has(id) || sessionIds.has('\0unknown'));
}

/** aedes' handleConnect: preConnect, then `init` on the next turn. */
export function leanConnect(client: LeanClient, packet: ConnectPacket, done: Done, internals: AedesInternals, sessionIds: ReadonlySet<string>): void {
  if (client._connectTimer) clearTimeout(client._connectTimer);
  client._connectTimer = null;
  client.connecting = true;
  client.broker.preConnect(client, packet, (err, ok) => {
    if (!err && ok === true) {
      setImmediate(init, client, packet, done, internals, sessionIds);
    } else {
      client.connecting = false;
      done(err);
    }
  });
}

/** aedes' `init` and its series of connect steps, for a clean session (return code 0 checked before). */
function init(client: LeanClient, packet: ConnectPacket, done: Done, internals: AedesInternals, sessionIds: ReadonlySet<string>): void {
  client.id = packet.clientId || `aedes_${randomUUID()}`;
  client.clean = true;
  client.version = packet.protocolVersion ?? null;
  client._will = packet.will;
  if (typeof internals.parsers !== 'string') internals.parsers.forgetConnect(client._parser);
  const broker = client.broker;
  const persistence = broker.persistence;
  const id = client.id;

  const finish = (err?: Error | null): void => {
    client.connecting = false;
    if (!err) {
      client.connected = true;
      broker.emit('clientReady', client);
      client.emit('connected');
    }
    done(err);
  };
  const connack = (returnCode: number, next: Done): void => {
    const packet = { cmd: 'connack', returnCode, sessionPresent: false };
    internals.write(client, packet, (err) => {
      if (!err) {
        broker.emit('connackSent', packet, client);
        client.connackSent = true;
      }
      next(err);
    });
  };

  // authenticate
  client.pause();
  broker.authenticate(client, packet.username, packet.password, (authErr, successful) => {
    if (client.closed || broker.closed) return; // as aedes: closed while authenticating
    if (!authErr && successful) {
      client._authorized = true;
      return setKeepAlive();
    }
    let returnCode = 5;
    let err: Error & { errorCode?: number };
    if (authErr) {
      const code = authErr.returnCode;
      returnCode = code && code >= 2 && code <= 5 ? code : 5;
      if (!authErr.message) authErr.message = ERROR_MESSAGES[returnCode]!;
      err = authErr;
    } else {
      err = new Error(ERROR_MESSAGES[returnCode]);
    }
    err.errorCode = returnCode;
    connack(returnCode, () => client.close(() => finish(err))); // [MQTT-3.2.2-5]
  });

  function setKeepAlive(): void {
    const keepalive = packet.keepalive ?? 0;
    if (keepalive > 0) {
      // [MQTT-3.1.2-24]
      client._keepaliveInterval = keepalive * 1500 + 1;
      client._keepaliveTimer = setTimeout(() => {
        broker.emit('keepaliveTimeout', client);
        client.emit('error', new Error('keep alive timeout'));
      }, client._keepaliveInterval);
    }
    fetchSubs();
  }

  // a clean session: drop stored subscriptions ([MQTT-3.2.2-1]); nothing to restore
  function fetchSubs(): void {
    if (!mayHaveState(sessionIds, id)) return storeWill();
    persistence.cleanSubscriptions(client).then(() => storeWill(), finish);
  }

  function storeWill(): void {
    client.will = client._will;
    const putWill = () => {
      if (client.will) persistence.putWill(client, client.will).then(() => registerClient(), finish);
      else registerClient();
    };
    if (!mayHaveState(sessionIds, id)) return putWill();
    persistence.delWill(client).finally(putWill);
  }

  function registerClient(): void {
    broker.registerClient(client);
    cleanIncoming();
  }

  // [MQTT-3.1.2-6], after registerClient (a taken-over client's in-flight QoS 2 store lands first);
  // aedes runs it one microtask later, so the check does too
  function cleanIncoming(): void {
    queueMicrotask(() => {
      if (!mayHaveState(sessionIds, id) || typeof persistence.cleanIncoming !== 'function') return doConnack();
      let cleaning: Promise<unknown>;
      try {
        cleaning = Promise.resolve(persistence.cleanIncoming(client));
      } catch (err) {
        cleaning = Promise.reject(err as Error); // as aedes: a synchronous throw fails the CONNECT
      }
      cleaning.then(() => doConnack(), finish);
    });
  }

  function doConnack(): void {
    connack(0, (err) => (err ? finish(err) : emptyQueue()));
  }

  function emptyQueue(): void {
    if (!mayHaveState(sessionIds, id)) {
      client.resume();
      return finish();
    }
    stockEmptyQueue(client, internals, finish);
  }
}

/**
 * aedes' `emptyQueue` for an id that may have queued messages: a clean session discards them
 * (each is cleared from the persistence, none is sent).
 */
function stockEmptyQueue(client: LeanClient, internals: AedesInternals, done: Done): void {
  const persistence = client.broker.persistence;
  const outgoing = persistence.outgoingStream(client);
  client.resume();
  pipeline(
    outgoing,
    internals.through(function clearQueue(data, _enc, next) {
      const packet = new internals.QoSPacket(data, client);
      packet.writeCallback = (error) => next(error); // the cleared packet is not passed on, as in aedes
      const filter = (err: unknown) => emptyQueueFilter(err, client, packet, internals);
      persistence.outgoingUpdate(client, packet).then(
        () => filter(null),
        (err: unknown) => filter(err),
      );
    }),
    (err) => done(err),
  );
}

function emptyQueueFilter(err: unknown, client: LeanClient, packet: { cmd: string; writeCallback: Done }, internals: AedesInternals): void {
  const next = packet.writeCallback;
  if (err) {
    client.emit('error', err);
    return next();
  }
  const authorized = packet.cmd === 'publish' ? client.broker.authorizeForward(client, packet) : true;
  const persistence = client.broker.persistence;
  if (client.clean || !authorized) {
    persistence.outgoingClearMessageId(client, packet).then(() => next(null), next);
  } else {
    internals.write(client, packet, next);
  }
}
