// Package notify reaches people: their contact methods and notification
// rules, the message templates, the channels (email over SMTP, signed
// webhooks, Slack and Microsoft Teams incoming webhooks), signed one-click
// links, and the durable outbox that delivers every message with retries,
// backoff, an idempotency key, rate limits and dead letters.
package notify
