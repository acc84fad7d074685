/** The API's own rules for a subscription, checked before sending so a form can point at the field. */

import { POLICY_LIMITS } from '../../../shared/subscription-policy.js';
import { isValidPattern } from '../../../shared/topics.js';

// The very functions the API validates with, bundled into the page.
export { isValidPattern, isValidTopic } from '../../../shared/topics.js';

export interface SubscriptionForm {
  type: 'webhook' | 'poll';
  topic: string;
  url: string;
  description: string;
  timeoutMs: string;
  maxAttempts: string;
  initialDelayMs: string;
  maxDelayMs: string;
  multiplier: string;
  maxInFlight: string;
  ordered: boolean;
  filter: string;
}

function intIn(v: string, min: number, max: number): boolean {
  const n = Number(v);
  return v.trim() !== '' && Number.isInteger(n) && n >= min && n <= max;
}

/** Field → message; empty when the form may be sent. */
export function checkSubscription(f: SubscriptionForm): Record<string, string> {
  const e: Record<string, string> = {};
  if (!isValidPattern(f.topic)) e.topic = 'Dot-separated tokens of letters, digits, _ and -; * for one token, a final > for the rest.';
  if (f.type === 'webhook') {
    try {
      const u = new URL(f.url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') e.url = 'Must be an http or https URL.';
      else if (u.username || u.password) e.url = 'Must not carry credentials.';
      else if (f.url.length > 2048) e.url = 'At most 2048 characters.';
    } catch {
      e.url = 'Must be an absolute http(s) URL, e.g. https://example.com/hooks.';
    }
    if (f.timeoutMs && !intIn(f.timeoutMs, 100, 30_000)) e.timeoutMs = 'A whole number from 100 to 30000.';
    if (f.maxAttempts && !intIn(f.maxAttempts, 1, 100)) e.maxAttempts = 'A whole number from 1 to 100.';
    if (f.initialDelayMs && !intIn(f.initialDelayMs, 0, 86_400_000)) e.initialDelayMs = 'From 0 to 86400000 ms.';
    if (f.maxDelayMs && !intIn(f.maxDelayMs, 1, 7 * 86_400_000)) e.maxDelayMs = 'From 1 to 604800000 ms.';
    if (f.multiplier && !(Number(f.multiplier) >= 1 && Number(f.multiplier) <= 10)) e.multiplier = 'From 1 to 10.';
    if (!e.initialDelayMs && !e.maxDelayMs && f.initialDelayMs && f.maxDelayMs && Number(f.initialDelayMs) > Number(f.maxDelayMs)) {
      e.initialDelayMs = 'Must not exceed the maximum delay.';
    }
    const { min, max } = POLICY_LIMITS.maxInFlight;
    if (f.maxInFlight && !intIn(f.maxInFlight, min, max)) e.maxInFlight = `A whole number from ${min} to ${max}.`;
  }
  if (f.description.length > 500) e.description = 'At most 500 characters.';
  if (f.filter.trim()) {
    try {
      const v = JSON.parse(f.filter) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) e.filter = 'A filter is a JSON object.';
    } catch (err) {
      e.filter = `Not JSON: ${(err as Error).message}`;
    }
  }
  return e;
}

/** The request body for the API: only what was filled in (the server's defaults apply to the rest). */
export function subscriptionBody(f: SubscriptionForm, creating: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = { topic: f.topic };
  if (creating) body.type = f.type;
  if (f.description.trim()) body.description = f.description.trim();
  else if (!creating) body.description = null;
  if (f.filter.trim()) body.filter = JSON.parse(f.filter);
  if (f.type === 'webhook') {
    body.url = f.url;
    if (f.timeoutMs) body.timeoutMs = Number(f.timeoutMs);
    const retry: Record<string, number> = {};
    if (f.maxAttempts) retry.maxAttempts = Number(f.maxAttempts);
    if (f.initialDelayMs) retry.initialDelayMs = Number(f.initialDelayMs);
    if (f.maxDelayMs) retry.maxDelayMs = Number(f.maxDelayMs);
    if (f.multiplier) retry.multiplier = Number(f.multiplier);
    if (Object.keys(retry).length) body.retry = retry;
    if (f.maxInFlight) body.maxInFlight = Number(f.maxInFlight);
    body.ordered = f.ordered;
  }
  return body;
}

/** A JSON document typed by hand: its parse error, or null when it is JSON. */
export function jsonError(text: string): string | null {
  try {
    JSON.parse(text);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
