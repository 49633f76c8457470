/**
 * Aedes announces every connect, disconnect and SUBSCRIBE on `$SYS` (one more publish, JSON
 * serialization included, through the whole publish pipeline per event). `$SYS` is closed to every
 * client here (docs/mqtt.md#access-control) and only a cluster of brokers listens to
 * `new/clients`: these events are dropped by replacing `aedes.publish` (a performance patch, see
 * docs/aedes-internals.md). The heartbeat and birth messages stay (aedes' will bookkeeping uses them).
 */
import type { Aedes } from 'aedes';

/** `$SYS/<broker>/new/clients`, `…/new/subscribes`, `…/new/unsubscribes`, `…/disconnect/clients`. */
const SYS_EVENT = /^\$SYS\/[^/]+\/(?:new\/(?:clients|subscribes|unsubscribes)|disconnect\/clients)$/;

export function dropSysEvents(aedes: Aedes): void {
  type Publish = (packet: { topic: string }, client?: unknown, done?: (err?: Error | null) => void) => void;
  const publish = (aedes.publish as unknown as Publish).bind(aedes);
  (aedes as unknown as { publish: Publish }).publish = (packet, client, done) => {
    if (packet.topic.charCodeAt(0) === 36 /* $ */ && SYS_EVENT.test(packet.topic)) {
      const callback = typeof client === 'function' ? (client as (err?: Error | null) => void) : done;
      callback?.(null);
      return;
    }
    publish(packet, client, done);
  };
}
