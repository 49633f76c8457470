/**
 * A cheaper CONNECT for clean sessions, patched into aedes at runtime (node_modules stays stock).
 *
 * Why: on every CONNECT aedes (lib/handlers/connect.js) runs nine steps; for a clean session four of
 * them are no-ops on a client id that never had session state (no stored subscription, queued
 * message, will or inbound QoS 2 packet), yet each costs: `cleanSubscriptions`, `delWill` and
 * `cleanIncoming` are promise round trips, and `emptyQueue` pipes `persistence.outgoingStream()`
 * (two nested `Readable.from` of an empty array) through a Transform with `stream.pipeline` (an
 * AbortController, end-of-stream watchers, and a DOMException built when it finishes): about a
 * sixth of the service's CPU per connect and per storm reconnect, plus the garbage.
 *
 * What: the CONNECT of a clean session is handled here, step by step as aedes 1.2.0 does (same
 * order, same hooks, same CONNACK codes, same events and errors), except that those four steps are
 * skipped when `sessionIds` says the client id cannot have state. Everything else (persistent
 * sessions, a CONNACK refused for the protocol version, id length or keepalive limit, every packet
 * after CONNECT) stays on aedes' own code.
 *
 * Why skipping is exact: the memory persistence (aedes-persistence, checked at install) only holds
 * state for a client id after one of the calls wrapped in `trackSessionState`, each of which adds
 * the id to `sessionIds` synchronously, before it stores anything; ids are never removed. The stock
 * steps read that state synchronously when they run (`cleanSubscriptions`, `delWill`,
 * `outgoingStream` copy the id's entries at call time) or one microtask later (`cleanIncoming`, which
 * is why that check runs in a microtask too), so an id absent from the set at that moment has
 * nothing for them to clean or send. A restarted process starts with an empty memory persistence.
 *
 * Guards: installed only on the aedes version this follows and an in-memory persistence, and a
 * client is adopted only when aedes' packet listener is the one this wraps; otherwise aedes runs
 * unchanged. Before that, guard.ts checks the versions and hashes of the files this follows
 * (docs/aedes-internals.md).
 */
import type { Aedes } from 'aedes';
import { leanParser } from './lean-parser.js';
import {
  leanConnect,
  type AedesInternals,
  type Broker,
  type ConnectPacket,
  type Packet,
  type Parser,
  type LeanClient,
  type PersistenceMethod,
} from './lean-connect.js';

/** The aedes release whose lib/handlers/connect.js the lean CONNECT follows. */
export const LEAN_AEDES_VERSION = '1.2.0';

/** What the broker reports about the lean path (tests and diagnostics). */
export interface LeanClients {
  /** Clean-session CONNECTs handled here. */
  readonly leanConnects: number;
  /** Client ids that may have session state: their CONNECT runs every stock step. */
  readonly sessionIds: ReadonlySet<string>;
}

/**
 * Installs the lean CONNECT on `aedes` (after `Aedes.createBroker`, before any listener) and
 * returns its counters; undefined (aedes unchanged) when what it relies on is not there, with the
 * reason given to `unavailable`.
 */
export async function installLeanClients(
  aedes: Aedes,
  unavailable: (patch: 'lean-connect' | 'lean-parser', reason: string) => void,
  { parser = true }: { parser?: boolean } = {},
): Promise<LeanClients | undefined> {
  const broker = aedes as unknown as Broker & { version?: string; handle: Aedes['handle'] };
  if (broker.version !== LEAN_AEDES_VERSION) {
    unavailable('lean-connect', `aedes ${String(broker.version)} is not ${LEAN_AEDES_VERSION}`);
    return undefined;
  }
  const persistence = broker.persistence as unknown as Record<string, unknown> & { asyncPersistence?: object };
  if (persistence.asyncPersistence?.constructor.name !== 'MemoryPersistence') {
    unavailable('lean-connect', 'the aedes persistence is not the in-memory one');
    return undefined;
  }
  let internals: AedesInternals;
  try {
    internals = await loadInternals(import.meta.resolve('aedes'), parser);
  } catch (err) {
    unavailable('lean-connect', `aedes internals not found: ${(err as Error).message}`);
    return undefined;
  }
  const parsers = typeof internals.parsers === 'string' ? undefined : internals.parsers;
  if (typeof internals.parsers === 'string') unavailable('lean-parser', `lean parser: ${internals.parsers}`);
  const sessionIds = new Set<string>();
  if (!trackSessionState(persistence, sessionIds)) {
    unavailable('lean-connect', 'the aedes persistence lacks a method the lean CONNECT tracks');
    return undefined;
  }

  const state = { leanConnects: 0, sessionIds, enabled: true };
  let stockEnqueue: ((this: Parser, packet: Packet) => void) | undefined;

  /** The parser's 'packet' listener: a clean CONNECT as the first packet comes here, the rest to aedes. */
  function leanEnqueue(this: Parser, packet: Packet): void {
    const client = this.client;
    if (
      packet.cmd === 'connect' &&
      state.enabled &&
      client._parsingBatch === 0 &&
      !client.connackSent &&
      !client.connecting &&
      !client.connected &&
      acceptable(client.broker, packet as ConnectPacket)
    ) {
      // what aedes' enqueue does for the first packet, then its handleConnect
      client._parsingBatch++;
      state.leanConnects++;
      leanConnect(client, packet as ConnectPacket, client._nextBatch, internals, sessionIds);
      return;
    }
    stockEnqueue!.call(this, packet);
  }

  const handle = broker.handle;
  broker.handle = function leanHandle(conn, req) {
    const client = parsers ? parsers.withLeanParser(() => handle(conn, req)) : handle(conn, req);
    if (!state.enabled) return client;
    const parser = (client as unknown as Partial<LeanClient>)._parser;
    const listener = parser?.listeners('packet');
    const enqueue = listener?.length === 1 ? listener[0] : undefined;
    stockEnqueue ??= enqueue?.name === 'enqueue' ? enqueue : undefined;
    if (!parser || enqueue === undefined || enqueue !== stockEnqueue || typeof (client as unknown as LeanClient)._nextBatch !== 'function') {
      state.enabled = false;
      unavailable('lean-connect', 'aedes Client internals changed: CONNECT handled by aedes from now on');
      return client;
    }
    parser.removeListener('packet', enqueue);
    parser.on('packet', leanEnqueue);
    return client;
  };

  return {
    get leanConnects() {
      return state.leanConnects;
    },
    sessionIds,
  };
}

async function loadInternals(root: string, parser: boolean): Promise<AedesInternals> {
  const parsers = parser ? leanParser(root) : 'not installed: its guard failed';
  const [write, utils, qos] = await Promise.all([
    import(new URL('./lib/write.js', root).href) as Promise<{ default: AedesInternals['write'] }>,
    import(new URL('./lib/utils.js', root).href) as Promise<{ through: AedesInternals['through'] }>,
    import(new URL('./lib/qos-packet.js', root).href) as Promise<{ default: AedesInternals['QoSPacket'] }>,
  ]);
  if (typeof write.default !== 'function' || typeof utils.through !== 'function' || typeof qos.default !== 'function') {
    throw new Error('lib/write.js, lib/utils.js or lib/qos-packet.js changed');
  }
  return { write: write.default, through: utils.through, QoSPacket: qos.default, parsers };
}

/**
 * Every call that can leave state for a client id in the memory persistence records the id first
 * (synchronously, before the store runs). Returns false when one of them is missing.
 */
function trackSessionState(persistence: Record<string, unknown>, sessionIds: Set<string>): boolean {
  const idOf = (x: unknown) => (x as { id?: unknown } | null)?.id;
  const clientIdOf = (x: unknown) => (x as { clientId?: unknown } | null)?.clientId;
  const record = (id: unknown): void => {
    // an id that is not a string cannot be matched later: no clean CONNECT is skipped from then on
    sessionIds.add(typeof id === 'string' ? id : '\0unknown');
  };
  const recorders: Record<string, (args: unknown[]) => void> = {
    addSubscriptions: (args) => record(idOf(args[0])),
    putWill: (args) => record(idOf(args[0])),
    incomingStorePacket: (args) => record(idOf(args[0])),
    outgoingEnqueue: (args) => record(clientIdOf(args[0])),
    outgoingEnqueueCombi: (args) => {
      const subs = args[0];
      if (Array.isArray(subs)) for (const sub of subs) record(clientIdOf(sub));
      else record(undefined);
    },
  };
  for (const name of [...Object.keys(recorders), 'cleanSubscriptions', 'delWill', 'outgoingStream', 'outgoingUpdate', 'outgoingClearMessageId']) {
    if (typeof persistence[name] !== 'function') return false;
  }
  for (const [name, recordArgs] of Object.entries(recorders)) {
    const original = persistence[name] as PersistenceMethod;
    persistence[name] = function (this: unknown, ...args: unknown[]) {
      recordArgs(args);
      return original.apply(this, args);
    };
  }
  return true;
}

/** aedes' `init` return code checks: anything it would refuse stays on aedes' path. */
function acceptable(broker: Broker, packet: ConnectPacket): boolean {
  if (packet.clean !== true) return false;
  const version = packet.protocolVersion;
  if (version !== 3 && version !== 4) return false;
  if (version === 3 && (packet.clientId ?? '').length > broker.maxClientsIdLength) return false;
  if (broker.keepaliveLimit && (!packet.keepalive || packet.keepalive > broker.keepaliveLimit)) return false;
  return true;
}
