-- HMAC-SHA256 (RFC 2104) with the key already XORed into its pads (ledger.cursor_key):
-- pgcrypto is not needed, and a cursor cannot be forged or altered without the key.
CREATE OR REPLACE FUNCTION ledger._cursor_mac(p_ipad bytea, p_opad bytea, p_message text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT encode(sha256(p_opad || sha256(p_ipad || convert_to(p_message, 'UTF8'))), 'hex')
$$;
COMMENT ON FUNCTION ledger._cursor_mac(bytea, bytea, text) IS
    'Private: HMAC-SHA256 of p_message, hex, given the key XOR ipad and XOR opad.';
