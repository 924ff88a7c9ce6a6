/**
 * Listener settings the origin and the edge share, read the same way on both: RTMPS (a TLS port
 * beside the plain RTMP port) and Flash's policies (the allow list served as /crossdomain.xml and as
 * the socket policy, and the optional master policy port 843).
 */
import { z } from 'zod';
import { parsePolicyDomains } from './flash-policy.ts';
import type { TlsFiles } from './rtmp-listener.ts';
import { ConfigError, port, settingFlag, text, type SettingFlag } from './config-file.ts';

const policyDomain = text().refine((domain) => {
  try {
    return parsePolicyDomains(domain).length === 1;
  } catch {
    return false;
  }
}, 'expected a domain (example.org, *.example.org or *)');

export const listenerSettings = {
  rtmpsPort: port().nullable().describe('RTMP over TLS on this port (null: off); needs tlsCert and tlsKey.'),
  tlsCert: text().nullable().describe('Certificate (PEM file) for RTMPS.'),
  tlsKey: text().nullable().describe('Private key (PEM file) for RTMPS.'),
  policyDomains: z.array(policyDomain).min(1).nullable().describe('Domains Flash clients may come from (null: the host this server is reached at).'),
  policyPort: port().nullable().describe('The master socket policy port (843; null: off, policy requests are still answered on the RTMP ports).'),
};

export type ListenerConfig = { [K in keyof typeof listenerSettings]: z.output<(typeof listenerSettings)[K]> };

export const defaultListenerConfig: ListenerConfig = { rtmpsPort: null, tlsCert: null, tlsKey: null, policyDomains: null, policyPort: null };

export const LISTENER_FLAGS: readonly SettingFlag[] = [
  settingFlag('rtmps-port', 'rtmpsPort', 'number'),
  settingFlag('tls-cert', 'tlsCert', 'text', { value: 'FILE' }),
  settingFlag('tls-key', 'tlsKey', 'text', { value: 'FILE' }),
  settingFlag('policy-allow', 'policyDomains', 'list', { value: 'DOMAIN,...' }),
  settingFlag('policy-port', 'policyPort', 'number'),
];

/** The RTMPS certificate and key, when configured. */
export function tlsFiles(config: ListenerConfig): TlsFiles | null {
  return config.tlsCert !== null && config.tlsKey !== null ? { certFile: config.tlsCert, keyFile: config.tlsKey } : null;
}

/**
 * Settings that only make sense together, checked once every layer is merged. TLS files without an
 * RTMPS port are an error too, unless `unusedTls` allows them (`npm start`'s edge, given the
 * origin's, may have no RTMPS port of its own).
 */
export function checkListenerConfig(config: ListenerConfig, unusedTls = false): void {
  if ((config.tlsCert === null) !== (config.tlsKey === null)) throw new ConfigError('tlsCert and tlsKey (--tls-cert, --tls-key) go together');
  if (config.rtmpsPort !== null && config.tlsCert === null) throw new ConfigError('rtmpsPort (--rtmps-port) needs tlsCert and tlsKey (--tls-cert, --tls-key)');
  if (!unusedTls && config.rtmpsPort === null && config.tlsCert !== null) throw new ConfigError('tlsCert and tlsKey (--tls-cert, --tls-key) are for RTMPS: they need rtmpsPort (--rtmps-port)');
}
