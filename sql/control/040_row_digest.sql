-- Target-row digests (activities/row-digest.ts builds the same canonical text in the worker): the chunk
-- ledger records the digest of the rows each chunk wrote, validation compares it with the digest
-- PostgreSQL computes over the user's target rows. Pieces: NULL = '~'; text and jsonb are prefixed
-- with their UTF-8 byte length; bytea is hex; timestamptz is epoch microseconds.
ALTER TABLE migration.chunk_ledger ADD COLUMN IF NOT EXISTS target_digest text;

CREATE OR REPLACE FUNCTION migration.dg_text(x text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT coalesce(octet_length(x)::text || ':' || x, '~') $$;

CREATE OR REPLACE FUNCTION migration.dg_ts(x timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT coalesce((extract(epoch FROM x) * 1000000)::bigint::text, '~') $$;

CREATE OR REPLACE FUNCTION migration.dg_bytea(x bytea) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT coalesce(encode(x, 'hex'), '~') $$;

-- First 8 bytes of md5 as a signed bigint (sums are taken mod 2^64 by the reader).
CREATE OR REPLACE FUNCTION migration.dg_64(x text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ('x' || left(md5(x), 16))::bit(64)::bigint $$;
