/**
 * Aedes announces every connect, disconnect and SUBSCRIBE on `$SYS` (one more publish, JSON
 * serialization included, through the whole publish pipeline per event). `$SYS` is closed to every
 * client here (docs/mqtt.md#access-control) and only a cluster of brokers listens to
 * `new/clients`: these events are dropped by replacing `aedes.publish` (a performance patch, see
 * docs/aedes-internals.md). The heartbeat and birth messages stay (aedes' will bookkeeping uses them).
 * With several nodes `new/clients` stays too: it is how aedes closes a client id taken over on
 * another node (docs/mqtt.md#several-nodes).
 */
import type { Aedes } from 'aedes';

/** `$SYS/<broker>/new/clients`, `…/new/subscribes`, `…/new/unsubscribes`, `…/disconnect/clients`. */
const SYS_EVENT = /^\$SYS\/[^/]+\/(?:new\/(?:clients|subscribes|unsubscribes)|disconnect\/clients)$/;
/** The same but `new/clients`. */
const SYS_EVENT_BUT_NEW_CLIENTS = /^\$SYS\/[^/]+\/(?:new\/(?:subscribes|unsubscribes)|disconnect\/clients)$/;

export function dropSysEvents(aedes: Aedes, { keepNewClients = false }: { keepNewClients?: boolean } = {}): void {
  const dropped = keepNewClients ? SYS_EVENT_BUT_NEW_CLIENTS : SYS_EVENT;
  type Publish = (packet: { topic: string }, client?: unknown, done?: (err?: Error | null) => void) => void;
  const publish = (aedes.publish as unknown as Publish).bind(aedes);
  (aedes as unknown as { publish: Publish }).publish = (packet, client, done) => {
    if (packet.topic.charCodeAt(0) === 36 /* $ */ && dropped.test(packet.topic)) {
      const callback = typeof client === 'function' ? (client as (err?: Error | null) => void) : done;
      callback?.(null);
      return;
    }
    publish(packet, client, done);
  };
}
