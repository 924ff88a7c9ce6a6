/**
 * README's settings tables ("Configuration"), made from the settings' schemas and descriptions:
 * `node scripts/config-reference.ts` prints them; test/common/config.test.ts checks README holds them.
 */
import { settingsReference } from '../common/config-file.ts';
import { defaultOriginConfig, ORIGIN_FLAGS, originSettings } from '../origin/config.ts';
import { defaultEdgeConfig, EDGE_FLAGS, edgeSettings } from '../gateway/config.ts';

export function settingsTables(): { origin: string; edge: string } {
  return {
    origin: settingsReference('origin', originSettings, defaultOriginConfig, ORIGIN_FLAGS),
    // The default name is the machine's: described, not shown.
    edge: settingsReference('edge', edgeSettings, { ...defaultEdgeConfig, name: '(the host name)', publicUrl: '' }, EDGE_FLAGS),
  };
}

if (import.meta.main) {
  const tables = settingsTables();
  console.log(`${tables.origin}\n\n${tables.edge}`);
}
