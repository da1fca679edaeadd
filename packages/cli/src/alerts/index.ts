export { createAlertReceiver, expectedAuthorization, MAX_BODY_BYTES, type AlertReceiver, type AlertReceiverOptions, type AlertReceiverStats } from './receiver.js';
export { parseWebhookPayload, PayloadError, MAX_ALERTS_PER_NOTIFICATION, type WebhookAlert, type WebhookPayload } from './payload.js';
export { alertRows, canonicalLabels, ruleUid } from './rows.js';
