/** QuestDB server lifecycle: the pinned jar, a managed local server, an external one by URL, and status. */
export { QUESTDB_VERSION } from './version.js';
export { ensureQuestDbJar, type EnsureJarOptions } from './jar.js';
export { startQuestDb, type StartQuestDbOptions } from './managed.js';
export { connectQuestDb, resolveQuestDb, type ConnectQuestDbOptions } from './external.js';
export { questDbStatus, stopQuestDbAt, type QuestDbStatus, type StopResult } from './status.js';
export { defaultDataRoot } from './paths.js';
export { STANDARD_PORTS, type QuestDbPorts } from './ports.js';
export { ILP_AUTO_CREATE_CONFIG, SMALL_FOOTPRINT_CONFIG } from './server-conf.js';
export type { QuestDbCredentials } from './http.js';
export type { QuestDbExit, QuestDbServer } from './types.js';
