-- Near-duplicates found through an index instead of a Hamming distance computed against every hashed photo in
-- scope (a province's photos, for a province-wide supervisor). A 64-bit dHash is cut into 8 bands of 8 bits, each
-- tagged with its band number (band i, byte b: i * 256 + b). Two hashes within 7 bits of each other differ in at most
-- 7 bands, so they share at least one tagged band (pigeonhole): the GIN index finds every photo within 7 bits (the
-- near-duplicate threshold is 6), and the exact distance is computed for those candidates only.
CREATE FUNCTION dhash_bands(h bigint) RETURNS int[]
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
  SELECT ARRAY[(h & 255)::int, 256 + ((h >> 8) & 255)::int, 512 + ((h >> 16) & 255)::int,
               768 + ((h >> 24) & 255)::int, 1024 + ((h >> 32) & 255)::int, 1280 + ((h >> 40) & 255)::int,
               1536 + ((h >> 48) & 255)::int, 1792 + ((h >> 56) & 255)::int]
$$;

CREATE INDEX attachment_dhash_bands_idx ON attachment USING gin (dhash_bands(dhash)) WHERE dhash IS NOT NULL;
