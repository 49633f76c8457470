/**
 * Which client a retained lookup is for. Aedes' persistence API gives `createRetainedStreamCombi`
 * the filters of a SUBSCRIBE but not the client, so a wildcard filter would have to be matched
 * against every device of the fleet before visibility is checked per message. Aedes 1.2.0's
 * lib/handlers/subscribe.js (`completeSubscribe`) emits `subscribe` with the client and then, in the
 * same synchronous run, calls `createRetainedStreamCombi`: the client seen in that event is the one
 * the lookup is for. It is forgotten at the next microtask, so a lookup outside that window gets
 * no client (and serves no wildcard). A security control: see docs/aedes-internals.md.
 */
import type { Aedes, Client } from 'aedes';

/** Returns the client of the SUBSCRIBE being answered, read once (undefined outside that window). */
export function trackRetainedSubscriber(aedes: Aedes): () => Client | undefined {
  let current: Client | undefined;
  aedes.on('subscribe', (_subs, client) => {
    current = client;
    queueMicrotask(() => (current = undefined));
  });
  return () => {
    const client = current;
    current = undefined;
    return client;
  };
}
