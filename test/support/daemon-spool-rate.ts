/**
 * The reference daemon's spool growth while cut off from QuestDB (MiB/h): what test/alerts-default-scale.test.ts
 * measures (its default schedule's rows written into a real writer's spool) and checks against this figure, with
 * which test/alerts-scenarios.unit.test.ts computes the scenario table of docs/alerting.md.
 */
export const DAEMON_SPOOL_MIB_PER_H = 1.13;
