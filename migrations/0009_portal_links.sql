-- Consumer portal links: a platform hands its customer a short-lived link; opening it exchanges the code once
-- for a session token limited to one subject's subscriptions on some topic patterns. Only the code's SHA-256
-- is stored, so a database read cannot open a portal.
CREATE TABLE portal_links (
  code_hash   bytea PRIMARY KEY,
  tenant      text NOT NULL,
  subject     text NOT NULL,
  topics      text[] NOT NULL,
  session_ttl_s integer NOT NULL,
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz
);
-- Spent and expired links are pruned by expiry.
CREATE INDEX portal_links_expires_at ON portal_links (expires_at);
