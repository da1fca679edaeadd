/**
 * Notification channels. Their secrets and addresses live only in the environment: a channel is provisioned when
 * it is enabled in the config AND its variables are set in the environment the files are generated from, and the
 * generated contact point refers to the variables (`$VAR`), which Grafana expands from its own environment when
 * it loads the file. So no secret is ever written to disk, and an unset channel is absent rather than broken.
 */
import type * as alerting from '@grafana/grafana-foundation-sdk/alerting';
import type { AlertsConfig, Severity } from './config.js';

export type ChannelId = 'telegram' | 'discord' | 'email';
export const CHANNEL_IDS: readonly ChannelId[] = ['telegram', 'discord', 'email'];

/** Environment variables per channel: all must be non-empty for the channel to be provisioned. */
export const ALERT_ENV = {
  telegram: { botToken: 'TRADEWATCH_ALERTS_TELEGRAM_BOT_TOKEN', chatId: 'TRADEWATCH_ALERTS_TELEGRAM_CHAT_ID' },
  discord: { webhookUrl: 'TRADEWATCH_ALERTS_DISCORD_WEBHOOK_URL' },
  /** Addresses separated by `;`; sending goes through Grafana's own SMTP settings (GF_SMTP_*). */
  email: { addresses: 'TRADEWATCH_ALERTS_EMAIL_ADDRESSES', smtpHost: 'GF_SMTP_HOST' },
  /** The dead-man's-switch URL (healthchecks.io, Cronitor, Dead Man's Snitch, ...): POSTed every repeat interval. */
  watchdog: { url: 'TRADEWATCH_ALERTS_WATCHDOG_URL' },
} as const;

export type AlertEnv = Readonly<Record<string, string | undefined>>;

const ref = (name: string) => `$${name}`;

/** The environment variables a channel (or the watchdog) needs that are unset or empty in `env`. */
export function missingEnv(channel: ChannelId | 'watchdog', env: AlertEnv): string[] {
  return Object.values(ALERT_ENV[channel]).filter((name) => !env[name]?.trim());
}

/** Channels provisioned: enabled in the config and fully configured in the environment. */
export function activeChannels(config: AlertsConfig, env: AlertEnv): ChannelId[] {
  if (!config.enabled) return [];
  return CHANNEL_IDS.filter((id) => config.channels[id].enabled && missingEnv(id, env).length === 0);
}

export function watchdogActive(config: AlertsConfig, env: AlertEnv): boolean {
  return config.enabled && config.channels.watchdog.enabled && missingEnv('watchdog', env).length === 0;
}

export const RECEIVERS = {
  critical: 'tradewatch-critical',
  warning: 'tradewatch-warning',
  watchdog: 'tradewatch-watchdog',
  /** Placeholder for a severity no channel takes: alerts stay visible in Grafana, nothing is delivered. */
  unrouted: 'tradewatch-unrouted',
} as const;

/** An address that can never be delivered (RFC 2606 `.invalid`). */
export const UNROUTED_ADDRESS = 'nobody@tradewatch.invalid';

/** One integration of a contact point as the provisioning file lists it (under `receivers`). */
export type Integration = Required<Pick<alerting.ContactPoint, 'uid' | 'type' | 'settings' | 'disableResolveMessage'>>;

export const integrationUid = (receiver: string, channel: string) => `tw-${receiver.replace(/^tradewatch-/, '')}-${channel}`;

function integration(channel: ChannelId, severity: Severity, sendResolved: boolean): Integration {
  const uid = integrationUid(RECEIVERS[severity], channel);
  switch (channel) {
    case 'telegram':
      return {
        uid,
        type: 'telegram',
        disableResolveMessage: !sendResolved,
        settings: {
          bottoken: ref(ALERT_ENV.telegram.botToken),
          chatid: ref(ALERT_ENV.telegram.chatId),
          parse_mode: 'HTML',
          // Warnings arrive silently; criticals ring.
          disable_notifications: severity === 'warning',
        },
      };
    case 'discord':
      return {
        uid,
        type: 'discord',
        disableResolveMessage: !sendResolved,
        settings: { url: ref(ALERT_ENV.discord.webhookUrl), use_discord_username: false },
      };
    case 'email':
      return {
        uid,
        type: 'email',
        disableResolveMessage: !sendResolved,
        settings: { addresses: ref(ALERT_ENV.email.addresses), singleEmail: true },
      };
  }
}

export interface ContactPointDef {
  readonly name: string;
  readonly receivers: Integration[];
}

/** Every integration uid tradewatch may provision (what a later generation deletes when a channel is gone). */
export function allIntegrationUids(): string[] {
  const uids = (['critical', 'warning'] as const).flatMap((s) => CHANNEL_IDS.map((c) => integrationUid(RECEIVERS[s], c)));
  return [...uids, integrationUid(RECEIVERS.watchdog, 'webhook'), integrationUid(RECEIVERS.unrouted, 'email')];
}

/**
 * Contact points: one per severity, holding an integration for each active channel that takes the severity;
 * the watchdog's webhook; and the placeholder when some severity has no channel.
 */
export function contactPoints(config: AlertsConfig, env: AlertEnv): ContactPointDef[] {
  const active = activeChannels(config, env);
  const points: ContactPointDef[] = [];
  let unrouted = false;
  for (const severity of ['critical', 'warning'] as const) {
    const receivers = active
      .filter((c) => config.channels[c].severities.includes(severity))
      .map((c) => integration(c, severity, config.channels[c].sendResolved));
    if (receivers.length) points.push({ name: RECEIVERS[severity], receivers });
    else unrouted = true;
  }
  if (watchdogActive(config, env)) {
    points.push({
      name: RECEIVERS.watchdog,
      receivers: [
        {
          uid: integrationUid(RECEIVERS.watchdog, 'webhook'),
          type: 'webhook',
          disableResolveMessage: true,
          settings: { url: ref(ALERT_ENV.watchdog.url), httpMethod: 'POST' },
        },
      ],
    });
  }
  if (unrouted) {
    points.push({
      name: RECEIVERS.unrouted,
      receivers: [
        {
          uid: integrationUid(RECEIVERS.unrouted, 'email'),
          type: 'email',
          disableResolveMessage: true,
          settings: { addresses: UNROUTED_ADDRESS, singleEmail: true },
        },
      ],
    });
  }
  return points;
}

/** The receiver a severity's alerts go to. */
export function receiverFor(severity: Severity, points: readonly ContactPointDef[]): string {
  return points.some((p) => p.name === RECEIVERS[severity]) ? RECEIVERS[severity] : RECEIVERS.unrouted;
}
