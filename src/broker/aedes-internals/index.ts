/**
 * The one place where trackconf touches aedes' and mqtt-packet's private code (docs/aedes-internals.md).
 * At start every touch is checked against what it was written for (guard.ts): a security control
 * that cannot be installed stops the start (ConfigError: one line, exit code 2); a performance patch
 * that cannot be installed is left out, warned once, and listed in `degraded` (shown by /health).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Aedes, Client } from 'aedes';
import { ConfigError } from '../../config/load.js';
import type { Logger } from '../../logger.js';
import { checkFollowed, FOLLOWED, SECURITY_CONTROLS, type Followed, type Patch } from './guard.js';
import { installLeanClients, type LeanClients } from './lean-clients.js';
import { cappable, capPacketSize } from './packet-size-cap.js';
import { trackRetainedSubscriber } from './retained-subscriber.js';
import { dropSysEvents } from './sys-events.js';

export type { LeanClients } from './lean-clients.js';

export interface AedesInternals {
  /** The cheaper clean-session CONNECT's counters; undefined when it is not installed. */
  readonly lean: LeanClients | undefined;
  /** Performance patches not in use (each warned once). */
  readonly degraded: readonly Patch[];
  /** The client of the SUBSCRIBE whose retained messages are being looked up (read once). */
  readonly retainedSubscriber: () => Client | undefined;
  /** Called with each client aedes creates for a new connection: caps its packet size. */
  readonly onConnection: (client: unknown) => void;
}

export interface InternalsOptions {
  /** The largest MQTT packet (remaining length) a client may announce. */
  readonly maxPacketBytes: number;
  /** What the patches were written for (tests pass a changed copy). */
  readonly followed?: Followed;
  /**
   * Several nodes share sessions through Redis (cluster.ts): the lean CONNECT, which knows only this
   * process's session ids, is left out, and `$SYS/<node>/new/clients` is kept (docs/aedes-internals.md).
   */
  readonly cluster?: boolean;
}

const CLUSTER_REASON = 'several nodes: client ids may have session state in Redis that this node never saw';

function securityFailure(patch: Patch, reason: string): ConfigError {
  return new ConfigError(`MQTT security control ${patch} cannot be installed: ${reason} (see docs/aedes-internals.md)`);
}

/** Installs every patch on `aedes` (after `Aedes.createBroker`, before any listener). */
export async function installAedesInternals(aedes: Aedes, options: InternalsOptions, log: Logger): Promise<AedesInternals> {
  const failed = checkFollowed(options.followed ?? FOLLOWED);
  for (const patch of SECURITY_CONTROLS) {
    const reason = failed.get(patch);
    if (reason) throw securityFailure(patch, reason);
  }
  // the cap replaces a private method of the parser aedes creates per connection: try one now
  const mqttPacket = createRequire(fileURLToPath(import.meta.resolve('aedes')))('mqtt-packet') as { parser(): unknown };
  if (!cappable(mqttPacket.parser())) throw securityFailure('packet-size-cap', "mqtt-packet's parser has no _parseLength/_emitError");

  const degraded: Patch[] = [];
  const degrade = (patch: Patch, reason: string): void => {
    if (degraded.includes(patch)) return;
    degraded.push(patch);
    log.warn({ patch, reason }, 'aedes runs without a performance patch (docs/aedes-internals.md)');
  };
  for (const [patch, reason] of failed) degrade(patch, reason);

  const retainedSubscriber = trackRetainedSubscriber(aedes);
  if (!failed.has('sys-events')) dropSysEvents(aedes, { keepNewClients: options.cluster === true });
  if (options.cluster) {
    degrade('lean-connect', CLUSTER_REASON);
    degrade('lean-parser', 'several nodes: installed with lean-connect only');
  }
  const lean =
    failed.has('lean-connect') || options.cluster
      ? undefined
      : await installLeanClients(aedes, degrade, {
          parser: !failed.has('lean-parser'),
        });

  const { maxPacketBytes } = options;
  let refused = false;
  return {
    lean,
    degraded,
    retainedSubscriber,
    onConnection(client: unknown): void {
      if (capPacketSize(client, maxPacketBytes)) return;
      // checked at start; a client without the cap is not served
      if (!refused) log.error('MQTT packet size cap missing on a connection: connection closed (docs/aedes-internals.md)');
      refused = true;
      (client as { close?: () => void }).close?.();
    },
  };
}
