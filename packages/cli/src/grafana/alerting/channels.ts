/**
 * Notification channels. Their secrets and addresses live only in the environment: a channel is provisioned when
 * it is enabled in the config AND its variables are set in the environment the files are generated from, and the
 * generated contact point refers to the variables (`$VAR`), which Grafana expands from its own environment when
 * it loads the file. So no secret is ever written to disk, and an unset channel is absent rather than broken.
 */
import type * as alerting from '@grafana/grafana-foundation-sdk/alerting';
import { ErrorCodes, TradewatchError } from '@tradewatch/sdk/common';
import type { AlertsConfig, Severity } from './config.js';

export type ChannelId = 'telegram' | 'discord' | 'email';
export const CHANNEL_IDS: readonly ChannelId[] = ['telegram', 'discord', 'email'];

/** Environment variables per channel: all must be non-empty for the channel to be provisioned. */
export const ALERT_ENV = {
  telegram: { botToken: 'TRADEWATCH_ALERTS_TELEGRAM_BOT_TOKEN', chatId: 'TRADEWATCH_ALERTS_TELEGRAM_CHAT_ID' },
  discord: { webhookUrl: 'TRADEWATCH_ALERTS_DISCORD_WEBHOOK_URL' },
  /** Addresses separated by `;`; sending goes through Grafana's own SMTP settings (GF_SMTP_*). */
  email: { addresses: 'TRADEWATCH_ALERTS_EMAIL_ADDRESSES', smtpHost: 'GF_SMTP_HOST', smtpEnabled: 'GF_SMTP_ENABLED' },
  /** The dead-man's-switch URL (healthchecks.io, Cronitor, Dead Man's Snitch, ...): POSTed every repeat interval. */
  watchdog: { url: 'TRADEWATCH_ALERTS_WATCHDOG_URL' },
  /** Optional bearer token of the alert-history receiver (the receiver reads the same variable). */
  history: { token: 'TRADEWATCH_ALERTS_HISTORY_TOKEN' },
} as const;

export type AlertEnv = Readonly<Record<string, string | undefined>>;

const ref = (name: string) => `$${name}`;

/** The environment variables a channel (or the watchdog) needs that are unset or empty in `env`. */
export function missingEnv(channel: ChannelId | 'watchdog', env: AlertEnv): string[] {
  return Object.values(ALERT_ENV[channel]).filter((name) => !env[name]?.trim());
}

/** Grafana reads GF_SMTP_ENABLED as a boolean: only these turn its SMTP client on. */
const SMTP_ON = new Set(['true', '1', 'yes', 'on']);

export interface ChannelCheck {
  /** Refused: a channel half configured, or e-mail without Grafana's SMTP enabled (each names the variables). */
  readonly errors: readonly string[];
  /** Not refused, but nothing would be delivered: no channel at all (names the variables to set). */
  readonly warnings: readonly string[];
}

/**
 * What the environment says about the channels, before anything is generated: a channel with some but not all of
 * its variables set would silently be dropped, and e-mail with SMTP off would silently never send; both are
 * errors. No channel at all is legal (alerts stay visible in Grafana) but is warned about.
 */
export function checkChannels(config: AlertsConfig, env: AlertEnv): ChannelCheck {
  const errors: string[] = [];
  if (config.enabled) {
    for (const channel of CHANNEL_IDS) {
      if (!config.channels[channel].enabled) continue;
      // GF_SMTP_ENABLED is Grafana's switch (compose defaults it to false), not part of "is e-mail configured".
      const names = Object.values(ALERT_ENV[channel]).filter((n) => n !== ALERT_ENV.email.smtpEnabled);
      const set = names.filter((n) => env[n]?.trim());
      if (set.length > 0 && set.length < names.length) {
        const missing = names.filter((n) => !set.includes(n));
        errors.push(`alerts channel ${channel} is half configured: ${set.join(', ')} set but ${missing.join(', ')} not; set all of them or none`);
      } else if (channel === 'email' && set.length === names.length && !SMTP_ON.has((env[ALERT_ENV.email.smtpEnabled] ?? '').trim().toLowerCase())) {
        errors.push(`alerts channel email: ${ALERT_ENV.email.smtpEnabled}=${JSON.stringify(env[ALERT_ENV.email.smtpEnabled])} turns Grafana's SMTP off, so no e-mail would be sent; set it to true (or unset ${ALERT_ENV.email.addresses})`);
      }
    }
    const watchdogSet = Object.values(ALERT_ENV.watchdog).filter((n) => env[n]?.trim());
    if (watchdogSet.length > 0 && !config.channels.watchdog.enabled) errors.push(`${ALERT_ENV.watchdog.url} is set but alerts.channels.watchdog.enabled is false`);
  }
  const warnings: string[] = [];
  if (config.enabled && errors.length === 0 && activeChannels(config, env).length === 0) {
    const options = CHANNEL_IDS.filter((c) => config.channels[c].enabled).map((c) => Object.values(ALERT_ENV[c]).join(' + '));
    warnings.push(
      `no alert notification channel is configured: alerts are evaluated and shown in Grafana but sent nowhere. Set ${options.join(', or ')} (deploy/.env)`,
    );
  }
  return { errors, warnings };
}

/** Refuses a half-configured channel (TW_INVALID_CONFIG, exit status 2 from the CLI), naming the variables. */
export function assertChannels(config: AlertsConfig, env: AlertEnv): ChannelCheck {
  const check = checkChannels(config, env);
  if (check.errors.length) throw new TradewatchError(ErrorCodes.INVALID_CONFIG, check.errors.join('; '), { errors: check.errors });
  return check;
}

/** Channels provisioned: enabled in the config and fully configured in the environment. */
export function activeChannels(config: AlertsConfig, env: AlertEnv): ChannelId[] {
  if (!config.enabled) return [];
  return CHANNEL_IDS.filter(
    (id) => config.channels[id].enabled && missingEnv(id, env).length === 0 && (id !== 'email' || SMTP_ON.has((env[ALERT_ENV.email.smtpEnabled] ?? '').trim().toLowerCase())),
  );
}

export function watchdogActive(config: AlertsConfig, env: AlertEnv): boolean {
  return config.enabled && config.channels.watchdog.enabled && missingEnv('watchdog', env).length === 0;
}

export const RECEIVERS = {
  critical: 'tradewatch-critical',
  warning: 'tradewatch-warning',
  watchdog: 'tradewatch-watchdog',
  /** The alert-history webhook: a record of every notification, not a channel anyone reads. */
  history: 'tradewatch-history',
  /** Placeholder for a severity no channel takes: alerts stay visible in Grafana, nothing is delivered. */
  unrouted: 'tradewatch-unrouted',
} as const;

/** An address that can never be delivered (RFC 2606 `.invalid`). */
export const UNROUTED_ADDRESS = 'nobody@tradewatch.invalid';

/** One integration of a contact point as the provisioning file lists it (under `receivers`). */
export type Integration = Required<Pick<alerting.ContactPoint, 'uid' | 'type' | 'settings' | 'disableResolveMessage'>>;

/**
 * Message templates (Grafana notification templates, Go text/template over the notification data): compact, one
 * line per alert with severity, rule, summary (which carries the value), since when, and the runbook and panel
 * links. Titles name the subject (service, exchange) and the count. Resolved messages use the same templates.
 */
export const TEMPLATE_NAME = 'tradewatch';
export const MESSAGE_TEMPLATE = [
  '{{ define "tradewatch.title" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }} {{ .Alerts.Firing | len }}{{ end }}]',
  ' {{ with .CommonLabels.service }}{{ . }}{{ end }}{{ with .CommonLabels.exchange }} {{ . }}{{ end }}{{ end }}',
  '{{ define "tradewatch.message" }}{{ range .Alerts }}',
  '{{ if eq .Status "firing" }}FIRING{{ else }}RESOLVED{{ end }} {{ .Labels.severity }} · {{ .Labels.alertname }}: {{ .Annotations.summary }}',
  ' · since {{ .StartsAt.UTC.Format "2006-01-02 15:04 UTC" }}{{ if eq .Status "resolved" }}, resolved {{ .EndsAt.UTC.Format "15:04 UTC" }}{{ end }}',
  '{{ with .Annotations.runbook_url }} · runbook {{ . }}{{ end }}{{ with .PanelURL }} · panel {{ . }}{{ end }}',
  '{{ end }}{{ end }}',
].join('\n');
const TITLE = '{{ template "tradewatch.title" . }}';
const MESSAGE = '{{ template "tradewatch.message" . }}';

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
          message: `${TITLE}\n${MESSAGE}`,
          // Warnings arrive silently; criticals ring.
          disable_notifications: severity === 'warning',
        },
      };
    case 'discord':
      return {
        uid,
        type: 'discord',
        disableResolveMessage: !sendResolved,
        settings: { url: ref(ALERT_ENV.discord.webhookUrl), use_discord_username: false, title: TITLE, message: MESSAGE },
      };
    case 'email':
      return {
        uid,
        type: 'email',
        disableResolveMessage: !sendResolved,
        settings: { addresses: ref(ALERT_ENV.email.addresses), singleEmail: true, subject: TITLE, message: MESSAGE },
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
  return [...uids, integrationUid(RECEIVERS.watchdog, 'webhook'), integrationUid(RECEIVERS.history, 'webhook'), integrationUid(RECEIVERS.unrouted, 'email')];
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
  if (historyActive(config)) points.push(historyContactPoint(config, env));
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

export function historyActive(config: AlertsConfig): boolean {
  return config.enabled && config.history.enabled;
}

/**
 * The alert-history webhook. Its URL is not a secret and has a working default (the compose service), so it is
 * written as is; the token, when set, is referenced like every other secret and expanded by Grafana.
 */
function historyContactPoint(config: AlertsConfig, env: AlertEnv): ContactPointDef {
  const token = env[ALERT_ENV.history.token]?.trim();
  return {
    name: RECEIVERS.history,
    receivers: [
      {
        uid: integrationUid(RECEIVERS.history, 'webhook'),
        type: 'webhook',
        // Resolved notifications are the other half of the history (time to recover).
        disableResolveMessage: false,
        settings: {
          url: config.history.url,
          httpMethod: 'POST',
          ...(token ? { authorization_scheme: 'Bearer', authorization_credentials: ref(ALERT_ENV.history.token) } : {}),
        },
      },
    ],
  };
}
