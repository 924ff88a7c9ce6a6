/**
 * Command (NetConnection.call, onStatus, _result ...) and data (@setDataFrame, NetStream.send)
 * messages: AMF payloads of RTMP message types 20/17 and 18/15, decoded to values and back.
 * Type 17 and 15 carry a leading format byte (0) before AMF0 values that may switch to AMF3.
 */
import { amf0Decode, Amf0Reader, amfEncodeForPeer } from '../amf/amf0.ts';
import type { AmfValue } from '../amf/types.ts';
import { AmfError, CommandError } from '../errors.ts';
import { MessageType, type RtmpMessage } from './message.ts';

export interface RtmpCommand {
  name: string;
  transactionId: number;
  /** The command object (connect's properties, null for most others). */
  commandObject: AmfValue;
  /** Everything after the command object. */
  args: AmfValue[];
}

function amfBody(message: RtmpMessage): Buffer {
  const amf3 = message.type === MessageType.CommandAmf3 || message.type === MessageType.DataAmf3;
  // The AMF3 variants start with a format byte of 0; a few clients omit it before a string marker.
  return amf3 && message.payload.length > 0 && message.payload[0] === 0 ? message.payload.subarray(1) : message.payload;
}

/**
 * The name and transaction id of a command were readable but its arguments were not: the
 * receiver can answer this call with an error and keep the connection.
 */
export class CommandArgumentsError extends CommandError {
  readonly commandName: string;
  readonly transactionId: number;
  constructor(name: string, transactionId: number, cause: AmfError) {
    super('command.bad_arguments', `arguments of '${name}' are malformed: ${cause.code}: ${cause.message}`);
    this.commandName = name;
    this.transactionId = transactionId;
  }
}

/**
 * Decodes a command message (type 20 or 17). Throws CommandError or AmfError on malformed
 * payloads; CommandArgumentsError when only the arguments after the transaction id are bad.
 */
export function decodeCommand(message: RtmpMessage): RtmpCommand {
  const reader = new Amf0Reader(amfBody(message));
  const name = reader.remaining > 0 ? reader.readValue() : undefined;
  if (typeof name !== 'string' || name === '') throw new CommandError('command.bad_name', 'command message does not start with a command name');
  const transactionId = reader.remaining > 0 ? reader.readValue() : undefined;
  if (typeof transactionId !== 'number') throw new CommandError('command.bad_transaction', `command '${name}' has no numeric transaction id`);
  const values: AmfValue[] = [];
  try {
    while (reader.remaining > 0) values.push(reader.readValue());
  } catch (error) {
    if (error instanceof AmfError) throw new CommandArgumentsError(name, transactionId, error);
    throw error;
  }
  const [commandObject = null, ...args] = values;
  return { name, transactionId, commandObject, args };
}

/**
 * The name of a command message (type 20 or 17) read without decoding the rest, or null when the
 * message is no command or does not start with a readable name (a deadline for `connect` needs
 * only this).
 */
export function commandName(message: RtmpMessage): string | null {
  if (message.type !== MessageType.CommandAmf0 && message.type !== MessageType.CommandAmf3) return null;
  try {
    const reader = new Amf0Reader(amfBody(message));
    const name = reader.remaining > 0 ? reader.readValue() : null;
    return typeof name === 'string' ? name : null;
  } catch (error) {
    if (error instanceof AmfError) return null;
    throw error;
  }
}

/** Decodes a data message (type 18 or 15) into its AMF values. */
export function decodeData(message: RtmpMessage): AmfValue[] {
  return amf0Decode(amfBody(message));
}

/** Types 17 and 15 (AMF3 clients) start with a format byte of 0; see amfEncodeForPeer for the values. */
function amfMessage(type: number, values: readonly AmfValue[], streamId: number, timestamp: number, amf3: boolean): RtmpMessage {
  const body = amfEncodeForPeer(values, amf3);
  const payload = amf3 ? Buffer.concat([Buffer.of(0), body]) : body;
  return { type, streamId, timestamp, payload };
}

/** Encodes a command; `amf3` selects type 17 for clients that connected with objectEncoding 3. */
export function encodeCommand(command: RtmpCommand, streamId: number, amf3 = false): RtmpMessage {
  const values = [command.name, command.transactionId, command.commandObject, ...command.args];
  return amfMessage(amf3 ? MessageType.CommandAmf3 : MessageType.CommandAmf0, values, streamId, 0, amf3);
}

/** Encodes a data message such as onMetaData or |RtmpSampleAccess. */
export function encodeData(values: readonly AmfValue[], streamId: number, timestamp = 0, amf3 = false): RtmpMessage {
  return amfMessage(amf3 ? MessageType.DataAmf3 : MessageType.DataAmf0, values, streamId, timestamp, amf3);
}
