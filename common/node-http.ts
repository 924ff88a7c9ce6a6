/**
 * The values we take from node:http, without Node's ESM wrapper of that module. A value import
 * (`import { createServer } from 'node:http'`) makes Node build the module's ESM namespace, which
 * reads every export, and three of them (WebSocket, CloseEvent, MessageEvent) load undici on their
 * first read: some 80 ms of CPU at every start of a process that never uses them (an edge's
 * restart: README, "Stopping, and running as a service"). Type imports from 'node:http' cost
 * nothing; values come from here.
 */
export const { createServer, request, STATUS_CODES } = process.getBuiltinModule('node:http');
