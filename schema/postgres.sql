-- pos-duplicate-guard: the shared store of several terminals, schema version 5.
-- postgresStore creates this on first use; a DBA may run it instead (psql -f schema.sql)
-- and grant the terminals' role USAGE on the schema, SELECT/INSERT/UPDATE/DELETE on its
-- tables, USAGE on its sequences and EXECUTE on its functions.
CREATE SCHEMA IF NOT EXISTS pos_duplicate_guard;

CREATE SEQUENCE IF NOT EXISTS pos_duplicate_guard.versions;

CREATE TABLE IF NOT EXISTS pos_duplicate_guard.attempts (
  id            text    PRIMARY KEY,
  merchant_id   text    NOT NULL,
  version       bigint  NOT NULL,
  record        text    NOT NULL, -- the AttemptRecord as JSON: keyed fingerprints, BIN and last 4 at most, never a card number
  skew          bigint  NOT NULL, -- the database's clock minus the writer's, ms
  status        text    NOT NULL,
  kind          text    NOT NULL,
  db_updated_at bigint  NOT NULL, -- the record's updatedAt on the database's clock, epoch ms
  changed_at    bigint  NOT NULL, -- the database's clock at the last write, epoch ms
  writer        text    NOT NULL, -- the connection that wrote it: its own notices are not read back
  claim_keys    text[]            -- while live: what a reservation finds it under
);
-- fastupdate off: a pending list would be scanned by every claim, slower with each insert until a vacuum.
CREATE INDEX IF NOT EXISTS attempts_claim_keys ON pos_duplicate_guard.attempts USING gin (claim_keys) WITH (fastupdate = off)
  WHERE claim_keys IS NOT NULL;
CREATE INDEX IF NOT EXISTS attempts_updated ON pos_duplicate_guard.attempts (merchant_id, db_updated_at);
CREATE INDEX IF NOT EXISTS attempts_changed ON pos_duplicate_guard.attempts (merchant_id, changed_at);
CREATE INDEX IF NOT EXISTS attempts_hot ON pos_duplicate_guard.attempts (merchant_id)
  WHERE status IN ('pending', 'unknown') OR (kind = 'refund' AND status = 'approved');
-- What a notice names (a version): the rows a terminal reads back when it hears one.
CREATE INDEX IF NOT EXISTS attempts_version ON pos_duplicate_guard.attempts (version);

CREATE TABLE IF NOT EXISTS pos_duplicate_guard.meta (
  merchant_id text NOT NULL,
  key         text NOT NULL,
  value       text NOT NULL,
  PRIMARY KEY (merchant_id, key)
);

CREATE TABLE IF NOT EXISTS pos_duplicate_guard.journal (
  id          bigserial PRIMARY KEY,
  merchant_id text   NOT NULL,
  terminal_id text,
  at          bigint NOT NULL,
  entry       text   NOT NULL,
  seq         bigint          -- the entry's seq on its terminal's chain (NULL: an entry without one)
);
CREATE INDEX IF NOT EXISTS journal_merchant ON pos_duplicate_guard.journal (merchant_id, terminal_id, id);
-- Version 2's journal had no seq column: a till restarted while its last batch was still on its way
-- sealed that batch's seqs again, and both landed (two chains under one terminal). From version 3 a
-- seq is taken once per terminal. Entries written before are given theirs from their JSON; where a
-- chain already holds a seq twice, the later rows keep none (the chain stays as broken as it was,
-- and verifyJournal says where), so that the index can be built.
ALTER TABLE pos_duplicate_guard.journal ADD COLUMN IF NOT EXISTS seq bigint;
DO $$
BEGIN
  IF to_regclass('pos_duplicate_guard.journal_seq') IS NULL THEN
    UPDATE pos_duplicate_guard.journal SET seq = (entry::json->>'seq')::bigint
     WHERE seq IS NULL AND entry::json->>'seq' ~ '^[1-9][0-9]{0,17}$';
    UPDATE pos_duplicate_guard.journal AS j SET seq = NULL
     WHERE j.seq IS NOT NULL AND EXISTS (SELECT 1 FROM pos_duplicate_guard.journal AS k WHERE k.merchant_id = j.merchant_id
             AND k.terminal_id IS NOT DISTINCT FROM j.terminal_id AND k.seq = j.seq AND k.id < j.id);
    CREATE UNIQUE INDEX journal_seq ON pos_duplicate_guard.journal (merchant_id, terminal_id, seq);
  END IF;
END $$;

-- The functions a terminal calls (claim, put_row, upload, filed_under) run with plan_cache_mode =
-- force_generic_plan: their statements are planned once per connection. Left to choose, PostgreSQL
-- plans the key lookup below again at every call (a custom plan for each array of keys), and that
-- planning cost more than the lookup and the write together (the budget: a begin within 2x of one
-- insert). The generic plan is the one wanted anyway: by key through the GIN index, by id through
-- the primary key. And with enable_seqscan off, as every statement in them reads by key: a plan
-- made once, on a connection opened while the table was still empty, would otherwise scan the
-- whole table for as long as the connection lives (5 ms a call at 20k rows).
--
-- The live rows filed under p_keys and the rows named by p_ids. The keys are the merchant's own
-- (its keyed fingerprints, its orders, its sales' ids), so the key lookup needs no merchant
-- column and always takes the GIN index, statistics or not; the fences (OFFSET 0) keep it so, and
-- the ids to the primary key (a generic plan made while the table looked empty read them through
-- attempts_hot instead: every open row of the merchant, for each claim).
CREATE OR REPLACE FUNCTION pos_duplicate_guard.related(p_merchant text, p_keys text[], p_ids text[]) RETURNS SETOF pos_duplicate_guard.attempts
LANGUAGE sql STABLE AS $$
  SELECT k.* FROM (SELECT * FROM pos_duplicate_guard.attempts WHERE claim_keys && p_keys OFFSET 0) AS k WHERE k.merchant_id = p_merchant
  UNION
  SELECT i.* FROM (SELECT * FROM pos_duplicate_guard.attempts WHERE id = ANY (p_ids) OFFSET 0) AS i WHERE i.merchant_id = p_merchant
$$;

-- The live rows filed under one key (an order's payments: GuardStore.byOrder), planned once per
-- connection like the claim that follows it.
CREATE OR REPLACE FUNCTION pos_duplicate_guard.filed_under(p_merchant text, p_key text) RETURNS SETOF pos_duplicate_guard.attempts
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
BEGIN
  RETURN QUERY SELECT * FROM pos_duplicate_guard.related(p_merchant, ARRAY[p_key], ARRAY[]::text[]);
END $$;

-- Locks a claim's keys and ids, in one order, for the rest of the transaction.
CREATE OR REPLACE FUNCTION pos_duplicate_guard.lock_claim(p_merchant text, p_keys text[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  -- One statement, not one per key: the keys come out of the sort in order, and are locked so.
  PERFORM pg_advisory_xact_lock(hashtextextended(p_merchant || chr(1) || k, 1))
    FROM (SELECT DISTINCT x AS k FROM unnest(p_keys) AS x ORDER BY 1) AS sorted;
END $$;

-- Writes one row (a new version), files it under its keys while live, and notifies the others.
CREATE OR REPLACE FUNCTION pos_duplicate_guard.write_row(p_merchant text, p_writer text, w json) RETURNS pos_duplicate_guard.attempts
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  r pos_duplicate_guard.attempts;
BEGIN
  INSERT INTO pos_duplicate_guard.attempts AS a (id, merchant_id, version, record, skew, status, kind, db_updated_at, changed_at, writer, claim_keys)
  SELECT x.id, p_merchant, nextval('pos_duplicate_guard.versions'), x.record, x.skew, x.status, x.kind, x."dbUpdatedAt",
         floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint, p_writer, CASE WHEN cardinality(x.keys) = 0 THEN NULL ELSE x.keys END
    FROM json_to_record(w) AS x(id text, record text, skew bigint, status text, kind text, "dbUpdatedAt" bigint, keys text[])
  ON CONFLICT (id) DO UPDATE SET
    version = excluded.version, record = excluded.record, skew = excluded.skew, status = excluded.status, kind = excluded.kind,
    db_updated_at = excluded.db_updated_at, changed_at = excluded.changed_at, writer = excluded.writer, claim_keys = excluded.claim_keys
  WHERE a.merchant_id = p_merchant
  RETURNING * INTO r;
  IF r.id IS NULL THEN
    RAISE EXCEPTION 'attempt % belongs to another merchant', w->>'id' USING ERRCODE = '23505';
  END IF;
  -- A plain begin's new reservation is announced by the terminal after the commit, in a batch:
  -- a NOTIFY holds a cluster-wide lock through its commit, and here it would serialise every begin.
  -- The notice names the version written, nothing of the row (not even its id): LISTEN needs no
  -- grant, so whatever a notice carries, any role that can connect reads. The others read it back.
  IF coalesce((w->>'notify')::boolean, true) THEN
    PERFORM pg_notify('pos_duplicate_guard', json_build_array(p_merchant, json_build_array(r.version), p_writer)::text);
  END IF;
  RETURN r;
END $$;

-- A write outside a reservation (GuardStore.put), under the same locks.
CREATE OR REPLACE FUNCTION pos_duplicate_guard.put_row(p_merchant text, p_writer text, w json) RETURNS pos_duplicate_guard.attempts
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
BEGIN
  PERFORM pos_duplicate_guard.lock_claim(p_merchant, ARRAY(SELECT json_array_elements_text(w->'keys')) || ARRAY['id:' || (w->>'id')]);
  RETURN pos_duplicate_guard.write_row(p_merchant, p_writer, w);
END $$;

-- A reservation (see GuardStore.claim): written = true with the rows written, or false with the rows found.
-- Every begin is one call of this, so it calls no other plpgsql function (each call cost as much as one
-- of its statements), and a claim that writes is two statements: the locks, then one INSERT whose
-- condition is the check (the rows found are exactly the versions expected; when none are expected,
-- as for a new sale, that no row is found: two index probes). Only when that writes nothing is the
-- check run again on its own, to answer what was found.
CREATE OR REPLACE FUNCTION pos_duplicate_guard.claim(p_merchant text, p_writer text, p_keys text[], p_ids text[], p_expected json, p_writes json)
RETURNS TABLE (written boolean, row_id text, row_version bigint, row_record text, row_skew bigint, row_changed_at bigint)
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
DECLARE
  same boolean;
  landed bigint := 0;
  writes integer := json_array_length(p_writes); -- a json value is parsed again by each function given it: counted once
  nothing_expected boolean := json_array_length(p_expected) = 0;
BEGIN
  -- The claim's keys and ids, locked in one order as lock_claim does.
  PERFORM pg_advisory_xact_lock(hashtextextended(p_merchant || chr(1) || k, 1))
     FROM (SELECT DISTINCT x AS k
             FROM unnest(p_keys || ARRAY(SELECT 'id:' || x FROM unnest(p_ids) AS x)
                  || ARRAY(SELECT 'id:' || (x->>'id') FROM json_array_elements(p_writes) AS x)) AS x
            ORDER BY 1) AS sorted;
  -- Each statement from here sees every claim that committed before the locks were granted.
  -- Rows are also deleted without these locks (delete, prune): one the INSERT's check met may be gone
  -- by the time the check is run again, hence the loop (see below).
  LOOP
    IF writes > 0 AND nothing_expected THEN
      RETURN QUERY
      INSERT INTO pos_duplicate_guard.attempts AS a (id, merchant_id, version, record, skew, status, kind, db_updated_at, changed_at, writer, claim_keys)
  SELECT x.id, p_merchant, nextval('pos_duplicate_guard.versions'), x.record, x.skew, x.status, x.kind, x."dbUpdatedAt",
         floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint, p_writer, CASE WHEN cardinality(x.keys) = 0 THEN NULL ELSE x.keys END
    FROM json_to_recordset(p_writes) AS x(id text, record text, skew bigint, status text, kind text, "dbUpdatedAt" bigint, keys text[])
   WHERE NOT EXISTS (SELECT 1 FROM (SELECT merchant_id FROM pos_duplicate_guard.attempts WHERE claim_keys && p_keys OFFSET 0) AS k
                    WHERE k.merchant_id = p_merchant)
     AND NOT EXISTS (SELECT 1 FROM (SELECT merchant_id FROM pos_duplicate_guard.attempts WHERE id = ANY (p_ids) OFFSET 0) AS i
                    WHERE i.merchant_id = p_merchant)
  ON CONFLICT (id) DO UPDATE SET
    version = excluded.version, record = excluded.record, skew = excluded.skew, status = excluded.status, kind = excluded.kind,
    db_updated_at = excluded.db_updated_at, changed_at = excluded.changed_at, writer = excluded.writer, claim_keys = excluded.claim_keys
  WHERE a.merchant_id = p_merchant
      RETURNING true, a.id, a.version, a.record, a.skew, a.changed_at;
      GET DIAGNOSTICS landed = ROW_COUNT;
    ELSIF writes > 0 THEN
      RETURN QUERY
      INSERT INTO pos_duplicate_guard.attempts AS a (id, merchant_id, version, record, skew, status, kind, db_updated_at, changed_at, writer, claim_keys)
  SELECT x.id, p_merchant, nextval('pos_duplicate_guard.versions'), x.record, x.skew, x.status, x.kind, x."dbUpdatedAt",
         floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint, p_writer, CASE WHEN cardinality(x.keys) = 0 THEN NULL ELSE x.keys END
    FROM json_to_recordset(p_writes) AS x(id text, record text, skew bigint, status text, kind text, "dbUpdatedAt" bigint, keys text[])
   WHERE (SELECT count(*) = json_array_length(p_expected)
         AND coalesce(bool_and(EXISTS (SELECT 1 FROM json_array_elements(p_expected) AS e
                                        WHERE e->>0 = r.id AND (e->>1)::bigint = r.version)), true) FROM pos_duplicate_guard.related(p_merchant, p_keys, p_ids) AS r)
  ON CONFLICT (id) DO UPDATE SET
    version = excluded.version, record = excluded.record, skew = excluded.skew, status = excluded.status, kind = excluded.kind,
    db_updated_at = excluded.db_updated_at, changed_at = excluded.changed_at, writer = excluded.writer, claim_keys = excluded.claim_keys
  WHERE a.merchant_id = p_merchant
      RETURNING true, a.id, a.version, a.record, a.skew, a.changed_at;
      GET DIAGNOSTICS landed = ROW_COUNT;
    END IF;
    EXIT WHEN landed > 0;
    SELECT count(*) = json_array_length(p_expected)
         AND coalesce(bool_and(EXISTS (SELECT 1 FROM json_array_elements(p_expected) AS e
                                        WHERE e->>0 = r.id AND (e->>1)::bigint = r.version)), true) INTO same FROM pos_duplicate_guard.related(p_merchant, p_keys, p_ids) AS r;
    IF NOT same THEN
      RETURN QUERY SELECT false, a.id, a.version, a.record, a.skew, a.changed_at
        FROM pos_duplicate_guard.related(p_merchant, p_keys, p_ids) AS a;
      IF NOT FOUND THEN -- what was expected is gone: say so with no row
        RETURN QUERY SELECT false, NULL::text, NULL::bigint, NULL::text, NULL::bigint, NULL::bigint;
      END IF;
      RETURN;
    END IF;
    IF writes = 0 THEN
      RETURN QUERY SELECT true, NULL::text, NULL::bigint, NULL::text, NULL::bigint, NULL::bigint;
      RETURN;
    END IF;
    -- The check holds now and nothing landed: either a write met another merchant's id (raised
    -- below), or the INSERT's check failed on a row deleted since, outside the locks. That is no
    -- other merchant: check and write again, as the claim would have had it come a moment later.
    EXIT WHEN EXISTS (SELECT 1 FROM json_to_recordset(p_writes) AS x(id text)
                        JOIN pos_duplicate_guard.attempts AS o ON o.id = x.id WHERE o.merchant_id <> p_merchant);
  END LOOP;
  IF landed < writes THEN
    RAISE EXCEPTION 'an attempt of this claim belongs to another merchant' USING ERRCODE = '23505';
  END IF;
  -- The versions written, in one notice, for the writes announced inside the transaction (see
  -- write_row). A lone write announced after its commit or not at all (a begin) skips the query.
  IF writes > 1 OR coalesce((p_writes->0->>'notify')::boolean, true) THEN
    PERFORM pg_notify('pos_duplicate_guard', json_build_array(p_merchant, json_agg(a.version ORDER BY a.version), p_writer)::text)
       FROM json_to_recordset(p_writes) AS x(id text, notify boolean)
       JOIN pos_duplicate_guard.attempts AS a ON a.id = x.id
      WHERE coalesce(x.notify, true)
     HAVING count(*) > 0;
  END IF;
END $$;

-- A write made while cut off, under the claim's locks: it replaces only an older row,
-- and answers the other live rows under its keys, for the conflict check.
CREATE OR REPLACE FUNCTION pos_duplicate_guard.upload(p_merchant text, p_writer text, w json)
RETURNS TABLE (row_id text, row_version bigint, row_record text, row_skew bigint, row_changed_at bigint)
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
DECLARE
  keys text[] := ARRAY(SELECT json_array_elements_text(w->'keys'));
  held pos_duplicate_guard.attempts;
BEGIN
  PERFORM pos_duplicate_guard.lock_claim(p_merchant, keys || ARRAY['id:' || (w->>'id')]);
  SELECT * INTO held FROM pos_duplicate_guard.attempts AS a WHERE a.id = w->>'id';
  IF held.id IS NULL OR held.db_updated_at < (w->>'dbUpdatedAt')::bigint THEN
    -- Announced here, whatever the record: the terminal does not learn the version it wrote.
    PERFORM pos_duplicate_guard.write_row(p_merchant, p_writer, (w::jsonb || '{"notify": true}')::json);
  END IF;
  RETURN QUERY SELECT a.id, a.version, a.record, a.skew, a.changed_at
    FROM pos_duplicate_guard.related(p_merchant, keys, ARRAY[]::text[]) AS a WHERE a.id <> w->>'id';
END $$;

CREATE TABLE IF NOT EXISTS pos_duplicate_guard.schema_version (version integer NOT NULL);
INSERT INTO pos_duplicate_guard.schema_version (version) SELECT 5
  WHERE NOT EXISTS (SELECT 1 FROM pos_duplicate_guard.schema_version WHERE version >= 5);
