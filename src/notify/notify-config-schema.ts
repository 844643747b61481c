import { Type } from 'typebox';
import { NOTIFY_EVENT_TYPES } from './notify-event.js';

// Webhooks told about access requests (src/notify/): delivered from an outbox in the store,
// retried with exponential backoff, so a restart or a receiver that is down loses nothing.
export const NotifyConfigSchema = Type.Object(
  {
    webhooks: Type.Array(
      Type.Object(
        {
          name: Type.String({ pattern: '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$' }),
          url: Type.String({ pattern: '^https?://' }),
          // HMAC-SHA256 key for the x-dab-signature header (json format); at least 16 characters.
          secret: Type.Optional(Type.String({ minLength: 16 })),
          // json: dab's own signed event; slack: a Slack incoming-webhook payload ({"text": …}).
          format: Type.Enum(['json', 'slack'], { default: 'json' }),
          // Event types to send; absent: every one. Named from the list, so a typo is refused, not silent.
          events: Type.Optional(Type.Array(Type.Enum(NOTIFY_EVENT_TYPES), { minItems: 1, uniqueItems: true, maxItems: NOTIFY_EVENT_TYPES.length })),
        },
        { additionalProperties: false },
      ),
      { default: [], maxItems: 20 },
    ),
    // One delivery attempt gives up after this long (a receiver that hangs counts as a failure).
    timeoutMs: Type.Integer({ minimum: 50, maximum: 60000, default: 5000 }),
    // After this many failed attempts a delivery is given up (it stays in the store, counted).
    maxAttempts: Type.Integer({ minimum: 1, maximum: 50, default: 10 }),
    // Backoff before attempt n+1: baseBackoffMs · 2^(n-1), at most maxBackoffMs.
    baseBackoffMs: Type.Integer({ minimum: 10, maximum: 3600000, default: 2000 }),
    maxBackoffMs: Type.Integer({ minimum: 10, maximum: 86400000, default: 600000 }),
    // How often the outbox is polled for due deliveries and timed-out requests; 0 turns the worker off.
    pollIntervalMs: Type.Integer({ minimum: 0, maximum: 600000, default: 1000 }),
  },
  { additionalProperties: false, default: {} },
);
