/**
 * The PostgreSQL schema of `postgresStore` (SPEC §9), as one DDL text: run
 * by the store on first use (under a lock, so ten terminals starting at once
 * create it once), and shipped as `pos-duplicate-guard/postgres/schema.sql`
 * (generated from this file by `npm run build`) for DBAs who grant no DDL.
 *
 * - `attempts`: one row per attempt, the record as JSON text (times on its
 *   writer's clock) beside what the database compares: `skew` (database
 *   clock minus the writer's), `db_updated_at` (its time on the database's
 *   clock), `claim_keys` (its fingerprint, order and refund keys while it is
 *   live, else NULL) and `version` (from one sequence: a row deleted and
 *   written again never repeats one).
 * - `claim(...)`: a reservation as one transaction and one round trip. It
 *   takes transaction-level advisory locks on the claim's keys and ids in one
 *   order (no deadlocks between claims), then, each statement seeing what
 *   committed before its lock was granted, reads the related rows, and writes
 *   only when they are the versions the terminal judged on. Otherwise it
 *   answers what it found and writes nothing: the terminal judges again.
 * - Every write notifies the channel named like the schema with the version
 *   it wrote, and nothing else: any role that can connect may LISTEN (and
 *   NOTIFY), so a notice names a row for the terminals to read back, by
 *   version, with their SELECT grant. A missed notice is caught up by time.
 * - `journal`: each terminal's chain (SPEC §12), one seq once per terminal
 *   (`journal_seq`): an entry sealed at a seq another already holds is
 *   refused, and the terminal seals it again on the database's head.
 */

/**
 * The schema's version, in `<schema>.schema_version`: a store never rewrites a schema of the same
 * version (a DBA's grants stay). 2: notices carry rows, the functions planned once per connection,
 * filed_under() (a store of version 1 finds a schema of version 2 current: its calls all still exist).
 * 3: notices carry versions only (a role without SELECT read every row off the channel), rows are
 * read back by version (attempts_version), and the journal's seq is unique per terminal
 * (journal_seq). The DDL brings a schema of version 2 up to 3 in place: run again, it changes nothing.
 * 4: claim() calls no other plpgsql function (a begin's one statement, a third of its cost on the
 * server went to those calls); same signature and answers, so a store of version 3 still calls it.
 * 5: claim() checks a claim that expects no row (a new sale: most begins) with two index probes
 * (NOT EXISTS) instead of collecting the related rows, deduplicating them and counting; the same
 * answer, about 20 µs less of a begin's server time. Same signature: stores of version 3 and 4 call it.
 */
export const SCHEMA_VERSION = 5;

/** The seed of the claim locks' keys: version 1's, so terminals on either side of an upgrade lock the same keys. */
const LOCK_SEED = 1;

/** The default schema name. */
export const DEFAULT_SCHEMA = 'pos_duplicate_guard';

/** A schema name as PostgreSQL takes it unquoted: it is written into DDL and used as the notification channel. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * AS_EXPECTED when nothing is expected (`p_expected` is empty): no related row, each probe one
 * index lookup, stopping at the first row found. Fenced (OFFSET 0) as related() is: the keys
 * through the GIN index, the ids through the primary key (unfenced, a generic plan walked every
 * row of the merchant through attempts_updated for the key probe: 93 ms at 100k rows).
 */
const NONE_RELATED = (
  s: string,
) => `NOT EXISTS (SELECT 1 FROM (SELECT merchant_id FROM ${s}.attempts WHERE claim_keys && p_keys OFFSET 0) AS k
                    WHERE k.merchant_id = p_merchant)
     AND NOT EXISTS (SELECT 1 FROM (SELECT merchant_id FROM ${s}.attempts WHERE id = ANY (p_ids) OFFSET 0) AS i
                    WHERE i.merchant_id = p_merchant)`;

/**
 * Whether the rows `r` a claim found are exactly the versions it expected
 * (`p_expected`: [id, version] pairs): as many, and each one of them. An
 * aggregate over the rows found, so true when none were found and none expected.
 */
const AS_EXPECTED = `count(*) = json_array_length(p_expected)
         AND coalesce(bool_and(EXISTS (SELECT 1 FROM json_array_elements(p_expected) AS e
                                        WHERE e->>0 = r.id AND (e->>1)::bigint = r.version)), true)`;

/**
 * The one way a row is written (write_row, claim): a new version of each
 * write in `source` (the write's JSON parsed once, not once per field),
 * filed under its keys while live, over a row of the same id only if it is
 * the same merchant's; with `condition`, only if that holds.
 */
function upsert(s: string, source: string, condition?: string): string {
  return `INSERT INTO ${s}.attempts AS a (id, merchant_id, version, record, skew, status, kind, db_updated_at, changed_at, writer, claim_keys)
  SELECT x.id, p_merchant, nextval('${s}.versions'), x.record, x.skew, x.status, x.kind, x."dbUpdatedAt",
         floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint, p_writer, CASE WHEN cardinality(x.keys) = 0 THEN NULL ELSE x.keys END
    FROM ${source} AS x(id text, record text, skew bigint, status text, kind text, "dbUpdatedAt" bigint, keys text[])${
      condition === undefined
        ? ''
        : `
   WHERE ${condition}`
    }
  ON CONFLICT (id) DO UPDATE SET
    version = excluded.version, record = excluded.record, skew = excluded.skew, status = excluded.status, kind = excluded.kind,
    db_updated_at = excluded.db_updated_at, changed_at = excluded.changed_at, writer = excluded.writer, claim_keys = excluded.claim_keys
  WHERE a.merchant_id = p_merchant`;
}

export function schemaSql(schema: string): string {
  const s = schema;
  return `-- pos-duplicate-guard: the shared store of several terminals, schema version ${SCHEMA_VERSION}.
-- postgresStore creates this on first use; a DBA may run it instead (psql -f schema.sql)
-- and grant the terminals' role USAGE on the schema, SELECT/INSERT/UPDATE/DELETE on its
-- tables, USAGE on its sequences and EXECUTE on its functions.
CREATE SCHEMA IF NOT EXISTS ${s};

CREATE SEQUENCE IF NOT EXISTS ${s}.versions;

CREATE TABLE IF NOT EXISTS ${s}.attempts (
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
CREATE INDEX IF NOT EXISTS attempts_claim_keys ON ${s}.attempts USING gin (claim_keys) WITH (fastupdate = off)
  WHERE claim_keys IS NOT NULL;
CREATE INDEX IF NOT EXISTS attempts_updated ON ${s}.attempts (merchant_id, db_updated_at);
CREATE INDEX IF NOT EXISTS attempts_changed ON ${s}.attempts (merchant_id, changed_at);
CREATE INDEX IF NOT EXISTS attempts_hot ON ${s}.attempts (merchant_id)
  WHERE status IN ('pending', 'unknown') OR (kind = 'refund' AND status = 'approved');
-- What a notice names (a version): the rows a terminal reads back when it hears one.
CREATE INDEX IF NOT EXISTS attempts_version ON ${s}.attempts (version);

CREATE TABLE IF NOT EXISTS ${s}.meta (
  merchant_id text NOT NULL,
  key         text NOT NULL,
  value       text NOT NULL,
  PRIMARY KEY (merchant_id, key)
);

CREATE TABLE IF NOT EXISTS ${s}.journal (
  id          bigserial PRIMARY KEY,
  merchant_id text   NOT NULL,
  terminal_id text,
  at          bigint NOT NULL,
  entry       text   NOT NULL,
  seq         bigint          -- the entry's seq on its terminal's chain (NULL: an entry without one)
);
CREATE INDEX IF NOT EXISTS journal_merchant ON ${s}.journal (merchant_id, terminal_id, id);
-- Version 2's journal had no seq column: a till restarted while its last batch was still on its way
-- sealed that batch's seqs again, and both landed (two chains under one terminal). From version 3 a
-- seq is taken once per terminal. Entries written before are given theirs from their JSON; where a
-- chain already holds a seq twice, the later rows keep none (the chain stays as broken as it was,
-- and verifyJournal says where), so that the index can be built.
ALTER TABLE ${s}.journal ADD COLUMN IF NOT EXISTS seq bigint;
DO $$
BEGIN
  IF to_regclass('${s}.journal_seq') IS NULL THEN
    UPDATE ${s}.journal SET seq = (entry::json->>'seq')::bigint
     WHERE seq IS NULL AND entry::json->>'seq' ~ '^[1-9][0-9]{0,17}$';
    UPDATE ${s}.journal AS j SET seq = NULL
     WHERE j.seq IS NOT NULL AND EXISTS (SELECT 1 FROM ${s}.journal AS k WHERE k.merchant_id = j.merchant_id
             AND k.terminal_id IS NOT DISTINCT FROM j.terminal_id AND k.seq = j.seq AND k.id < j.id);
    CREATE UNIQUE INDEX journal_seq ON ${s}.journal (merchant_id, terminal_id, seq);
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
CREATE OR REPLACE FUNCTION ${s}.related(p_merchant text, p_keys text[], p_ids text[]) RETURNS SETOF ${s}.attempts
LANGUAGE sql STABLE AS $$
  SELECT k.* FROM (SELECT * FROM ${s}.attempts WHERE claim_keys && p_keys OFFSET 0) AS k WHERE k.merchant_id = p_merchant
  UNION
  SELECT i.* FROM (SELECT * FROM ${s}.attempts WHERE id = ANY (p_ids) OFFSET 0) AS i WHERE i.merchant_id = p_merchant
$$;

-- The live rows filed under one key (an order's payments: GuardStore.byOrder), planned once per
-- connection like the claim that follows it.
CREATE OR REPLACE FUNCTION ${s}.filed_under(p_merchant text, p_key text) RETURNS SETOF ${s}.attempts
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
BEGIN
  RETURN QUERY SELECT * FROM ${s}.related(p_merchant, ARRAY[p_key], ARRAY[]::text[]);
END $$;

-- Locks a claim's keys and ids, in one order, for the rest of the transaction.
CREATE OR REPLACE FUNCTION ${s}.lock_claim(p_merchant text, p_keys text[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  -- One statement, not one per key: the keys come out of the sort in order, and are locked so.
  PERFORM pg_advisory_xact_lock(hashtextextended(p_merchant || chr(1) || k, ${LOCK_SEED}))
    FROM (SELECT DISTINCT x AS k FROM unnest(p_keys) AS x ORDER BY 1) AS sorted;
END $$;

-- Writes one row (a new version), files it under its keys while live, and notifies the others.
CREATE OR REPLACE FUNCTION ${s}.write_row(p_merchant text, p_writer text, w json) RETURNS ${s}.attempts
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  r ${s}.attempts;
BEGIN
  ${upsert(s, 'json_to_record(w)')}
  RETURNING * INTO r;
  IF r.id IS NULL THEN
    RAISE EXCEPTION 'attempt % belongs to another merchant', w->>'id' USING ERRCODE = '23505';
  END IF;
  -- A plain begin's new reservation is announced by the terminal after the commit, in a batch:
  -- a NOTIFY holds a cluster-wide lock through its commit, and here it would serialise every begin.
  -- The notice names the version written, nothing of the row (not even its id): LISTEN needs no
  -- grant, so whatever a notice carries, any role that can connect reads. The others read it back.
  IF coalesce((w->>'notify')::boolean, true) THEN
    PERFORM pg_notify('${s}', json_build_array(p_merchant, json_build_array(r.version), p_writer)::text);
  END IF;
  RETURN r;
END $$;

-- A write outside a reservation (GuardStore.put), under the same locks.
CREATE OR REPLACE FUNCTION ${s}.put_row(p_merchant text, p_writer text, w json) RETURNS ${s}.attempts
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
BEGIN
  PERFORM ${s}.lock_claim(p_merchant, ARRAY(SELECT json_array_elements_text(w->'keys')) || ARRAY['id:' || (w->>'id')]);
  RETURN ${s}.write_row(p_merchant, p_writer, w);
END $$;

-- A reservation (see GuardStore.claim): written = true with the rows written, or false with the rows found.
-- Every begin is one call of this, so it calls no other plpgsql function (each call cost as much as one
-- of its statements), and a claim that writes is two statements: the locks, then one INSERT whose
-- condition is the check (the rows found are exactly the versions expected; when none are expected,
-- as for a new sale, that no row is found: two index probes). Only when that writes nothing is the
-- check run again on its own, to answer what was found.
CREATE OR REPLACE FUNCTION ${s}.claim(p_merchant text, p_writer text, p_keys text[], p_ids text[], p_expected json, p_writes json)
RETURNS TABLE (written boolean, row_id text, row_version bigint, row_record text, row_skew bigint, row_changed_at bigint)
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
DECLARE
  same boolean;
  landed bigint := 0;
  writes integer := json_array_length(p_writes); -- a json value is parsed again by each function given it: counted once
  nothing_expected boolean := json_array_length(p_expected) = 0;
BEGIN
  -- The claim's keys and ids, locked in one order as lock_claim does.
  PERFORM pg_advisory_xact_lock(hashtextextended(p_merchant || chr(1) || k, ${LOCK_SEED}))
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
      ${upsert(s, 'json_to_recordset(p_writes)', NONE_RELATED(s))}
      RETURNING true, a.id, a.version, a.record, a.skew, a.changed_at;
      GET DIAGNOSTICS landed = ROW_COUNT;
    ELSIF writes > 0 THEN
      RETURN QUERY
      ${upsert(s, 'json_to_recordset(p_writes)', `(SELECT ${AS_EXPECTED} FROM ${s}.related(p_merchant, p_keys, p_ids) AS r)`)}
      RETURNING true, a.id, a.version, a.record, a.skew, a.changed_at;
      GET DIAGNOSTICS landed = ROW_COUNT;
    END IF;
    EXIT WHEN landed > 0;
    SELECT ${AS_EXPECTED} INTO same FROM ${s}.related(p_merchant, p_keys, p_ids) AS r;
    IF NOT same THEN
      RETURN QUERY SELECT false, a.id, a.version, a.record, a.skew, a.changed_at
        FROM ${s}.related(p_merchant, p_keys, p_ids) AS a;
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
                        JOIN ${s}.attempts AS o ON o.id = x.id WHERE o.merchant_id <> p_merchant);
  END LOOP;
  IF landed < writes THEN
    RAISE EXCEPTION 'an attempt of this claim belongs to another merchant' USING ERRCODE = '23505';
  END IF;
  -- The versions written, in one notice, for the writes announced inside the transaction (see
  -- write_row). A lone write announced after its commit or not at all (a begin) skips the query.
  IF writes > 1 OR coalesce((p_writes->0->>'notify')::boolean, true) THEN
    PERFORM pg_notify('${s}', json_build_array(p_merchant, json_agg(a.version ORDER BY a.version), p_writer)::text)
       FROM json_to_recordset(p_writes) AS x(id text, notify boolean)
       JOIN ${s}.attempts AS a ON a.id = x.id
      WHERE coalesce(x.notify, true)
     HAVING count(*) > 0;
  END IF;
END $$;

-- A write made while cut off, under the claim's locks: it replaces only an older row,
-- and answers the other live rows under its keys, for the conflict check.
CREATE OR REPLACE FUNCTION ${s}.upload(p_merchant text, p_writer text, w json)
RETURNS TABLE (row_id text, row_version bigint, row_record text, row_skew bigint, row_changed_at bigint)
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
DECLARE
  keys text[] := ARRAY(SELECT json_array_elements_text(w->'keys'));
  held ${s}.attempts;
BEGIN
  PERFORM ${s}.lock_claim(p_merchant, keys || ARRAY['id:' || (w->>'id')]);
  SELECT * INTO held FROM ${s}.attempts AS a WHERE a.id = w->>'id';
  IF held.id IS NULL OR held.db_updated_at < (w->>'dbUpdatedAt')::bigint THEN
    -- Announced here, whatever the record: the terminal does not learn the version it wrote.
    PERFORM ${s}.write_row(p_merchant, p_writer, (w::jsonb || '{"notify": true}')::json);
  END IF;
  RETURN QUERY SELECT a.id, a.version, a.record, a.skew, a.changed_at
    FROM ${s}.related(p_merchant, keys, ARRAY[]::text[]) AS a WHERE a.id <> w->>'id';
END $$;

CREATE TABLE IF NOT EXISTS ${s}.schema_version (version integer NOT NULL);
INSERT INTO ${s}.schema_version (version) SELECT ${SCHEMA_VERSION}
  WHERE NOT EXISTS (SELECT 1 FROM ${s}.schema_version WHERE version >= ${SCHEMA_VERSION});
`;
}
