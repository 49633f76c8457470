/**
 * mqtt-packet (aedes' parser) buffers a whole packet before aedes sees it, whatever length the
 * fixed header announces (up to 256 MiB, even before CONNECT). Cap it at the header: the parser's
 * length step (`_parseLength`, private) fails the parse, aedes closes the connection, at most one
 * read chunk is held. A security control: see docs/aedes-internals.md.
 */

interface PacketParser {
  packet: { length: number };
  _parseLength(): boolean;
  _emitError(err: Error): unknown;
}

/** Whether `parser` has the two private methods the cap replaces and calls. */
export function cappable(parser: unknown): parser is PacketParser {
  const p = parser as Partial<PacketParser> | null;
  return typeof p?._parseLength === 'function' && typeof p._emitError === 'function';
}

/** Caps the parser of a client aedes just created; false when it is not the parser this was written for. */
export function capPacketSize(client: unknown, maxPacketBytes: number): boolean {
  const parser = (client as { _parser?: unknown } | null)?._parser;
  if (!cappable(parser)) return false;
  const parseLength = parser._parseLength;
  parser._parseLength = function (this: PacketParser): boolean {
    if (!parseLength.call(this)) return false;
    if (this.packet.length <= maxPacketBytes) return true;
    this._emitError(new Error(`packet of ${this.packet.length} bytes exceeds ${maxPacketBytes}`));
    return false;
  };
  return true;
}
