/**
 * Listener settings the origin and the edge share, parsed the same way on both: RTMPS (a TLS port
 * beside the plain RTMP port) and Flash's policies (the allow list served as /crossdomain.xml and as
 * the socket policy, and the optional master policy port 843).
 */
import { parsePolicyDomains } from './flash-policy.ts';
import type { TlsFiles } from './rtmp-listener.ts';

export interface ListenerConfig {
  /** RTMP over TLS on this port; null: off. */
  rtmpsPort: number | null;
  /** Certificate and key for RTMPS; required with rtmpsPort. */
  tls: TlsFiles | null;
  /** Domains Flash clients may come from; null: the hosts this server is reached at (its public host). */
  policyDomains: string[] | null;
  /** The master socket policy port (843); null: off (policy requests are still answered on RTMP ports). */
  policyPort: number | null;
}

export const defaultListenerConfig: ListenerConfig = { rtmpsPort: null, tls: null, policyDomains: null, policyPort: null };

export const LISTENER_FLAGS = ['rtmps-port', 'tls-cert', 'tls-key', 'policy-allow', 'policy-port'] as const;
export const LISTENER_USAGE = '[--rtmps-port N --tls-cert FILE --tls-key FILE] [--policy-allow DOMAIN,...] [--policy-port N]';

type ListenerFlag = (typeof LISTENER_FLAGS)[number];

function portNumber(value: string, flag: string, usage: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${flag} must be a port number, got ${JSON.stringify(value)}\n${usage}`);
  return n;
}

export function loadListenerConfig(values: Partial<Record<ListenerFlag, string>>, usage: string): ListenerConfig {
  const config: ListenerConfig = { ...defaultListenerConfig };
  if (values['rtmps-port'] !== undefined) config.rtmpsPort = portNumber(values['rtmps-port'], 'rtmps-port', usage);
  const cert = values['tls-cert'];
  const key = values['tls-key'];
  if ((cert === undefined) !== (key === undefined)) throw new Error(`--tls-cert and --tls-key go together\n${usage}`);
  if (cert !== undefined && key !== undefined) config.tls = { certFile: cert, keyFile: key };
  if ((config.rtmpsPort === null) !== (config.tls === null)) throw new Error(`--rtmps-port needs --tls-cert and --tls-key (and they need it)\n${usage}`);
  if (values['policy-allow'] !== undefined) {
    try {
      config.policyDomains = parsePolicyDomains(values['policy-allow']);
    } catch (error) {
      throw new Error(`--policy-allow: ${(error as Error).message}\n${usage}`);
    }
    if (config.policyDomains.length === 0) throw new Error(`--policy-allow lists no domain\n${usage}`);
  }
  if (values['policy-port'] !== undefined) config.policyPort = portNumber(values['policy-port'], 'policy-port', usage);
  return config;
}
