-- Rate limit of the token endpoint (POST /oauth2/token): a fixed one-minute window per key, like partner_rate.
-- The key is 'client:<id>' for a request naming a registered client (whether or not it then authenticates), else
-- 'address:<ip>' (an unknown client id). No foreign key: address keys name no client. Rows of past windows are
-- swept by later successful token requests.
CREATE TABLE partner_token_rate (
  key           text PRIMARY KEY,
  window_start  timestamptz NOT NULL,
  calls         int NOT NULL
);
CREATE INDEX partner_token_rate_window_idx ON partner_token_rate (window_start);
