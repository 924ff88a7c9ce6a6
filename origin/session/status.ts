/**
 * The replies a Flash client expects: _result/_error for calls and onStatus info objects with
 * the exact NetConnection/NetStream codes. Building them in one place keeps codes and levels
 * consistent across publish, play and connect.
 */
import type { AmfObject, AmfValue } from '#protocol/amf/types.ts';
import type { RtmpCommand } from '#protocol/rtmp/command.ts';

export type StatusLevel = 'status' | 'error' | 'warning';

export interface StatusInfo extends AmfObject {
  level: StatusLevel;
  code: string;
  description: string;
}

export function statusInfo(level: StatusLevel, code: string, description: string, extra: AmfObject = {}): StatusInfo {
  return { level, code, description, ...extra };
}

export function resultCommand(transactionId: number, ...values: AmfValue[]): RtmpCommand {
  const [commandObject = null, ...args] = values;
  return { name: '_result', transactionId, commandObject, args };
}

export function errorCommand(transactionId: number, info: StatusInfo): RtmpCommand {
  return { name: '_error', transactionId, commandObject: null, args: [info] };
}

export function onStatusCommand(info: StatusInfo): RtmpCommand {
  return { name: 'onStatus', transactionId: 0, commandObject: null, args: [info] };
}

/** A server-to-client call with no reply expected (onFCPublish, onBWDone, ...). */
export function notifyCommand(name: string, ...args: AmfValue[]): RtmpCommand {
  return { name, transactionId: 0, commandObject: null, args };
}
