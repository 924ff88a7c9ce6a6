/**
 * Command (NetConnection.call, onStatus, _result ...) and data (@setDataFrame, NetStream.send)
 * messages: AMF payloads of RTMP message types 20/17 and 18/15, decoded to values and back.
 * Type 17 and 15 carry a leading format byte (0) before AMF0 values that may switch to AMF3.
 */
import { amf0Decode, amf0Encode } from '../amf/amf0.ts';
import type { AmfValue } from '../amf/types.ts';
import { CommandError } from '../errors.ts';
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

/** Decodes a command message (type 20 or 17). Throws CommandError or AmfError on malformed payloads. */
export function decodeCommand(message: RtmpMessage): RtmpCommand {
  const values = amf0Decode(amfBody(message));
  const [name, transactionId, commandObject, ...args] = values;
  if (typeof name !== 'string' || name === '') throw new CommandError('command.bad_name', 'command message does not start with a command name');
  if (typeof transactionId !== 'number') throw new CommandError('command.bad_transaction', `command '${name}' has no numeric transaction id`);
  return { name, transactionId, commandObject: commandObject ?? null, args };
}

/** Decodes a data message (type 18 or 15) into its AMF values. */
export function decodeData(message: RtmpMessage): AmfValue[] {
  return amf0Decode(amfBody(message));
}

function amfMessage(type: number, values: readonly AmfValue[], streamId: number, timestamp: number, amf3: boolean): RtmpMessage {
  const body = amf0Encode(values);
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
