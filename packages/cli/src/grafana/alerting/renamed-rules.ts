/**
 * Rules renamed in a release, by their old id. A config file that still names one is refused with what changed,
 * not only "unknown setting": the operator's tuning under the old name would otherwise be dropped without a word,
 * and a threshold whose unit changed must not be carried over as it is.
 */
import { describeValue } from '@tradewatch/sdk/common';
import { RULE_DEFAULTS, type RuleId } from './rule-defaults.js';

export interface RenamedRule {
  readonly to: RuleId;
  /** What the threshold meant under the old name (the new meaning is the new rule's unit and default). */
  readonly oldThreshold: string;
  /** What the threshold means now. */
  readonly newThreshold: string;
}

export const RENAMED_RULES: Readonly<Record<string, RenamedRule>> = {
  spoolGrowth: {
    to: 'spoolFull',
    oldThreshold: "MiB a writer's spool grew in 10 minutes",
    newThreshold: "hours left until a writer's spool reaches its bound at its last hour's growth",
  },
};

/** The new threshold in words with its default, e.g. `hours left until … (default 24 h)`. */
export function renamedThreshold(renamed: RenamedRule): string {
  const d = RULE_DEFAULTS[renamed.to];
  return `${renamed.newThreshold} (default ${d.threshold}${d.unit ? ` ${d.unit}` : ''}), no longer ${renamed.oldThreshold}`;
}

/**
 * Why `alerts.rules.<oldId>` (holding `settings`, from `source`) is refused, or undefined when `oldId` was never a
 * rule. Names each field given with its value and where it goes now.
 */
export function renamedRuleRefusal(oldId: string, settings: unknown, source: string): string | undefined {
  const renamed = Object.hasOwn(RENAMED_RULES, oldId) ? RENAMED_RULES[oldId] : undefined;
  if (!renamed) return undefined;
  const given = settings !== null && typeof settings === 'object' ? Object.entries(settings) : [];
  const fields = given.length > 0 ? given.map(([key, value]) => `alerts.rules.${oldId}.${key} = ${describeValue(value)}`).join(', ') : `alerts.rules.${oldId}`;
  return (
    `${fields} in ${source}: the rule ${oldId} was renamed ${renamed.to}, and its threshold now means ${renamedThreshold(renamed)}. ` +
    `Move the settings under alerts.rules.${renamed.to} and choose its threshold anew: a value meant for the old meaning is not carried over`
  );
}
