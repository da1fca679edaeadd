/** The one place the QuestDB server version is pinned: the jar cache, the state file and the CLI all read it. */
export const QUESTDB_VERSION = '9.3.4';

/** Maven coordinates of the self-contained server jar (web console included, no dependencies). */
export const QUESTDB_MAVEN_GROUP = 'org.questdb';
export const QUESTDB_MAVEN_ARTIFACT = 'questdb';
