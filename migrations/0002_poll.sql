-- Poll subscriptions and live streams.
--
-- Server-wide keys that every api replica must share, created once by whichever replica starts first.
-- Poll ack ids are authenticated with the 'poll-ack-v1' key: an ack id minted by one replica is
-- accepted by any other, whatever the token scheme (HS256 secret or RS256/ES256 public key).
CREATE TABLE server_keys (
  name        text PRIMARY KEY,
  key         bytea NOT NULL CHECK (length(key) >= 32),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- GET /v1/messages/:id lists the poll subscriptions a message is owed to before any poller has fetched it.
CREATE INDEX subscriptions_live_poll ON subscriptions (tenant) WHERE type = 'poll' AND deleted_at IS NULL;
