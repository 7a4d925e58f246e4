"""The warehouse schema, as numbered migrations applied in order (``warehouse.apply_migrations``).

Python writes ``landing``, ``ml`` and ``ops``; dbt owns ``staging``, ``intermediate`` and
``marts``. A migration is never edited once released: add the next number.

Over 300 lines on purpose: the append-only history reads in order in one place.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "landing schema: tickets, events, batches, quarantine, knowledge base",
        """
        CREATE SCHEMA IF NOT EXISTS landing;
        CREATE SCHEMA IF NOT EXISTS ml;
        CREATE SCHEMA IF NOT EXISTS ops;
        CREATE TABLE landing.tickets (
            ticket_id      VARCHAR NOT NULL,
            source         VARCHAR NOT NULL,
            external_id    VARCHAR NOT NULL,
            created_at     TIMESTAMPTZ NOT NULL,
            updated_at     TIMESTAMPTZ NOT NULL,
            channel        VARCHAR,
            customer_key   VARCHAR,
            customer_tier  VARCHAR,
            language       VARCHAR,
            subject        VARCHAR,
            body           VARCHAR,
            status         VARCHAR,
            priority       VARCHAR,
            category       VARCHAR,
            queue          VARCHAR,
            sentiment      VARCHAR,
            tags           VARCHAR[],
            assignee_key   VARCHAR,
            csat           INTEGER,
            content_hash   VARCHAR NOT NULL,
            batch_id       VARCHAR NOT NULL
        );
        CREATE TABLE landing.ticket_events (
            event_id     VARCHAR NOT NULL,
            ticket_id    VARCHAR NOT NULL,
            created_at   TIMESTAMPTZ NOT NULL,
            author_role  VARCHAR NOT NULL,
            kind         VARCHAR NOT NULL,
            public       BOOLEAN,
            body         VARCHAR,
            detail       JSON,
            batch_id     VARCHAR NOT NULL
        );
        CREATE TABLE landing.ingest_batches (
            batch_id            VARCHAR PRIMARY KEY,
            source              VARCHAR NOT NULL,
            format              VARCHAR NOT NULL,
            file                VARCHAR NOT NULL,
            file_sha256         VARCHAR NOT NULL,
            records_in          BIGINT NOT NULL,
            records_loaded      BIGINT NOT NULL,
            records_updated     BIGINT NOT NULL,
            records_unchanged   BIGINT NOT NULL,
            records_quarantined BIGINT NOT NULL,
            events_loaded       BIGINT NOT NULL,
            started_at          TIMESTAMPTZ NOT NULL,
            finished_at         TIMESTAMPTZ NOT NULL,
            CHECK (records_in = records_loaded + records_updated + records_unchanged
                                + records_quarantined)
        );
        CREATE TABLE landing.quarantine (
            batch_id   VARCHAR NOT NULL,
            file       VARCHAR NOT NULL,
            record_no  BIGINT NOT NULL,
            record     VARCHAR,
            reason     VARCHAR NOT NULL
        );
        CREATE TABLE landing.kb_articles (
            article_id  VARCHAR NOT NULL,
            title       VARCHAR NOT NULL,
            audience    VARCHAR NOT NULL,
            status      VARCHAR NOT NULL,
            owner       VARCHAR,
            category    VARCHAR,
            locale      VARCHAR,
            url         VARCHAR,
            updated_at  TIMESTAMPTZ,
            review_by   DATE,
            body        VARCHAR,
            content_hash VARCHAR NOT NULL
        );
        CREATE TABLE landing.kb_chunks (
            chunk_id     VARCHAR NOT NULL,
            article_id   VARCHAR NOT NULL,
            ordinal      INTEGER NOT NULL,
            text         VARCHAR NOT NULL,
            embedding    FLOAT[],
            index_version VARCHAR
        );
        """,
    ),
    (
        2,
        "scoring and rollout: predictions, routing decisions, scoring runs, rollout events",
        """
        CREATE TABLE ml.predictions (
            ticket_id      VARCHAR NOT NULL,
            model_name     VARCHAR NOT NULL,
            model_version  INTEGER NOT NULL,
            phase          VARCHAR NOT NULL,
            field          VARCHAR NOT NULL,
            label          VARCHAR NOT NULL,
            confidence     DOUBLE NOT NULL,
            top3           JSON,
            abstained      BOOLEAN NOT NULL,
            scored_at      TIMESTAMPTZ NOT NULL,
            flow_run_id    VARCHAR NOT NULL,
            PRIMARY KEY (ticket_id, model_name, model_version, field)
        );
        -- What the model's output did to the ticket, attributed to the version that decided.
        CREATE TABLE ml.routing_decisions (
            ticket_id      VARCHAR NOT NULL,
            model_name     VARCHAR NOT NULL,
            model_version  INTEGER NOT NULL,
            phase          VARCHAR NOT NULL,
            field          VARCHAR NOT NULL,
            action         VARCHAR NOT NULL,  -- logged · suggest · auto_apply · needs_human
            label          VARCHAR,
            confidence     DOUBLE NOT NULL,
            decided_by     VARCHAR NOT NULL,  -- model:<name>/<version>
            decided_at     TIMESTAMPTZ NOT NULL,
            flow_run_id    VARCHAR NOT NULL,
            PRIMARY KEY (ticket_id, model_name, model_version, field)
        );
        CREATE TABLE ops.scoring_runs (
            flow_run_id     VARCHAR NOT NULL,
            model_name      VARCHAR NOT NULL,
            model_version   INTEGER NOT NULL,
            phase           VARCHAR NOT NULL,
            field           VARCHAR NOT NULL,
            tickets         INTEGER NOT NULL,
            mean_confidence DOUBLE,
            psi_label       DOUBLE,
            psi_confidence  DOUBLE,
            drifted         BOOLEAN NOT NULL,
            started_at      TIMESTAMPTZ NOT NULL,
            finished_at     TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE ops.rollout_events (
            event_id      VARCHAR PRIMARY KEY,
            model_name    VARCHAR NOT NULL,
            version       INTEGER,
            from_phase    VARCHAR,
            to_phase      VARCHAR NOT NULL,
            action        VARCHAR NOT NULL,  -- promote · rollback
            gates         JSON,
            passed        BOOLEAN NOT NULL,
            forced        BOOLEAN NOT NULL DEFAULT false,
            reason        VARCHAR,
            actor         VARCHAR NOT NULL,
            previous_version INTEGER,
            decided_at    TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        3,
        "knowledge: article sources, chunk headings, index runs, problems, suggestions, audit",
        """
        ALTER TABLE landing.kb_articles ADD COLUMN product_area VARCHAR;
        ALTER TABLE landing.kb_articles ADD COLUMN source VARCHAR;
        ALTER TABLE landing.kb_articles ADD COLUMN source_file VARCHAR;
        ALTER TABLE landing.kb_articles ADD COLUMN index_version VARCHAR;
        ALTER TABLE landing.kb_chunks ADD COLUMN heading VARCHAR;
        ALTER TABLE landing.kb_chunks ADD COLUMN tokens INTEGER;
        CREATE TABLE ops.kb_index_runs (
            run_id             VARCHAR PRIMARY KEY,
            index_version      VARCHAR NOT NULL,
            source             VARCHAR NOT NULL,
            encoder            VARCHAR NOT NULL,
            articles_in        INTEGER NOT NULL,
            articles_new       INTEGER NOT NULL,
            articles_reembedded INTEGER NOT NULL,
            articles_metadata  INTEGER NOT NULL,
            articles_unchanged INTEGER NOT NULL,
            articles_rejected  INTEGER NOT NULL,
            articles_deleted   INTEGER NOT NULL,
            chunks_embedded    INTEGER NOT NULL,
            chunks_total       INTEGER NOT NULL,
            started_at         TIMESTAMPTZ NOT NULL,
            finished_at        TIMESTAMPTZ NOT NULL,
            CHECK (articles_in = articles_new + articles_reembedded + articles_metadata
                                 + articles_unchanged + articles_rejected)
        );
        CREATE TABLE ops.kb_problems (
            run_id       VARCHAR NOT NULL,
            source       VARCHAR NOT NULL,
            source_file  VARCHAR NOT NULL,
            article_id   VARCHAR,
            reason       VARCHAR NOT NULL
        );
        CREATE TABLE ml.article_suggestions (
            ticket_id     VARCHAR NOT NULL,
            rank          INTEGER NOT NULL,
            article_id    VARCHAR NOT NULL,
            chunk_id      VARCHAR NOT NULL,
            score         DOUBLE NOT NULL,   -- reciprocal rank fusion score
            similarity    DOUBLE NOT NULL,   -- cosine of ticket and passage
            audience      VARCHAR NOT NULL,
            index_version VARCHAR NOT NULL,
            suggested_at  TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (ticket_id, index_version, rank)
        );
        CREATE TABLE ops.kb_findings (
            audit_id         VARCHAR NOT NULL,
            -- kind: stale · missing_owner · draft · near_duplicate · conflict
            kind             VARCHAR NOT NULL,
            article_id       VARCHAR NOT NULL,
            other_article_id VARCHAR,
            similarity       DOUBLE,
            detail           VARCHAR NOT NULL,
            found_at         TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE ops.kb_coverage_gaps (
            audit_id            VARCHAR NOT NULL,
            gap_id              INTEGER NOT NULL,
            tickets             INTEGER NOT NULL,
            mean_best_similarity DOUBLE NOT NULL,
            terms               VARCHAR[],
            example_ticket_ids  VARCHAR[],
            example_subjects    VARCHAR[],
            found_at            TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        4,
        "escalation: rule versions, decisions per ticket and rules version, backfill partitions",
        """
        CREATE TABLE ops.escalation_rule_versions (
            rules_version VARCHAR PRIMARY KEY,
            content_hash  VARCHAR NOT NULL,
            rules         JSON NOT NULL,
            registered_at TIMESTAMPTZ NOT NULL
        );
        -- One row per (ticket, rules version); backfills replace whole days.
        CREATE TABLE ops.escalation_decisions (
            ticket_id         VARCHAR NOT NULL,
            rules_version     VARCHAR NOT NULL,
            escalate          BOOLEAN NOT NULL,
            triggers          VARCHAR[] NOT NULL,
            queue             VARCHAR,
            priority          VARCHAR,
            ticket_created_at TIMESTAMPTZ NOT NULL,
            evaluated_at      TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE ops.escalation_partitions (
            rules_version VARCHAR NOT NULL,
            day           DATE NOT NULL,
            tickets       INTEGER NOT NULL,
            escalated     INTEGER NOT NULL,
            finished_at   TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (rules_version, day)
        );
        """,
    ),
    (
        5,
        "ticket vectors (shared by suggestions, the coverage audit and agent assist)",
        """
        -- One embedding per ticket text and encoder; re-embedded only when the text changes.
        CREATE TABLE ml.ticket_vectors (
            ticket_id   VARCHAR PRIMARY KEY,
            encoder     VARCHAR NOT NULL,
            text_hash   VARCHAR NOT NULL,
            embedding   FLOAT[] NOT NULL,
            embedded_at TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        6,
        "agent assist: outputs per ticket, incidents and links, QA samples and verdicts",
        """
        CREATE TABLE ml.assist_outputs (
            ticket_id     VARCHAR PRIMARY KEY,
            assist_version VARCHAR NOT NULL,  -- config + macros + index version + encoder
            summary       JSON NOT NULL,
            draft         VARCHAR NOT NULL,
            macro_id      VARCHAR,
            citations     JSON NOT NULL,
            findings      JSON NOT NULL,
            needs_rewrite BOOLEAN NOT NULL,
            missing_fields VARCHAR[] NOT NULL,
            duplicates    JSON NOT NULL,
            related_open  JSON NOT NULL,
            generator     VARCHAR NOT NULL,   -- extractive · or the optional endpoint's model
            created_at    TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE ml.incidents (
            incident_id   VARCHAR PRIMARY KEY,
            label         VARCHAR NOT NULL,
            started_at    TIMESTAMPTZ NOT NULL,
            ended_at      TIMESTAMPTZ NOT NULL,
            burst_tickets INTEGER NOT NULL,
            linked_tickets INTEGER NOT NULL,
            detected_at   TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE ml.ticket_incidents (
            ticket_id   VARCHAR PRIMARY KEY,
            incident_id VARCHAR NOT NULL,
            link        VARCHAR NOT NULL CHECK (link IN ('burst', 'later')),
            similarity  DOUBLE
        );
        CREATE TABLE ops.qa_samples (
            sample_id   VARCHAR PRIMARY KEY,
            sample_day  DATE NOT NULL,
            kind        VARCHAR NOT NULL CHECK (kind IN ('answer', 'draft', 'route')),
            stratum     VARCHAR NOT NULL,
            ticket_id   VARCHAR NOT NULL,
            ai_output   VARCHAR,
            ai_pass     BOOLEAN NOT NULL,  -- the AI's own call: confident, no blocking finding
            sampled_at  TIMESTAMPTZ NOT NULL,
            UNIQUE (sample_day, kind, ticket_id)
        );
        CREATE TABLE ops.qa_verdicts (
            sample_id  VARCHAR PRIMARY KEY,
            verdict    VARCHAR NOT NULL CHECK (verdict IN ('pass', 'fail')),
            reviewer   VARCHAR NOT NULL,
            notes      VARCHAR,
            audited_at TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        7,
        "real help-desk shapes: CSAT as given + good/bad, deleted tickets, clock skew, "
        "batch notes, pull cursors",
        """
        ALTER TABLE landing.tickets ADD COLUMN csat_raw VARCHAR;  -- as given: good, 4…
        ALTER TABLE landing.tickets ADD COLUMN csat_good BOOLEAN;    -- NULL: no rating
        ALTER TABLE landing.tickets ADD COLUMN is_deleted BOOLEAN DEFAULT false;
        -- clock skew: updated_at earlier than created_at in the source
        ALTER TABLE landing.tickets ADD COLUMN clock_skew BOOLEAN DEFAULT false;
        UPDATE landing.tickets SET csat_raw = CAST(csat AS VARCHAR), csat_good = csat >= 4,
                                   is_deleted = false, clock_skew = false;
        -- the author of an event as a salted key (Zendesk author ids; roles are derived from it)
        ALTER TABLE landing.ticket_events ADD COLUMN author_key VARCHAR;
        -- author_role came from comparing author_key with the ticket's customer_key
        ALTER TABLE landing.ticket_events ADD COLUMN role_inferred BOOLEAN DEFAULT false;
        -- unused source fields, values coerced to NULL, unknown vocabulary, skipped events, flags
        ALTER TABLE landing.ingest_batches ADD COLUMN notes JSON;
        -- Zendesk lookups kept for later runs: custom field id → canonical field, and a user's
        -- role by salted key (lookups_store.py); never ids, names or e-mails
        CREATE TABLE landing.source_lookups (
            source VARCHAR NOT NULL,
            kind   VARCHAR NOT NULL CHECK (kind IN ('ticket_field', 'user_role')),
            key    VARCHAR NOT NULL,
            value  VARCHAR NOT NULL,
            PRIMARY KEY (source, kind, key)
        );
        -- where a live pull stopped: written only after the page it points past is loaded
        CREATE TABLE IF NOT EXISTS landing.pull_state (
            source     VARCHAR NOT NULL,
            stream     VARCHAR NOT NULL,
            cursor     VARCHAR,
            updated_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (source, stream)
        );
        """,
    ),
    (
        8,
        "one definition of the derived ticket facts for the steps that run before dbt",
        r"""
        -- The same expressions as dbt's staging.stg_landing__tickets (ticket_text, has_text,
        -- is_settled); tests/flows/test_support_metrics.py pins the two to the same result.
        -- Every landing.tickets column plus the three facts (a view re-binds, so later columns
        -- appear here too).
        CREATE OR REPLACE VIEW landing.ticket_texts AS
        SELECT
            *,
            concat_ws(E'\n', subject, body) AS ticket_text,
            regexp_matches(concat_ws(E'\n', subject, body), '\S') AS has_text,
            status IN ('solved', 'closed') AS is_settled
        FROM landing.tickets;
        """,
    ),
    (
        9,
        "deleted tickets leave the steps that run before dbt, as they leave dbt's staging",
        r"""
        -- A ticket deleted in the help desk (status "deleted") is not scored, suggested,
        -- assisted, embedded or escalated any more; stg_landing__tickets drops it the same way.
        CREATE OR REPLACE VIEW landing.ticket_texts AS
        SELECT
            *,
            concat_ws(E'\n', subject, body) AS ticket_text,
            regexp_matches(concat_ws(E'\n', subject, body), '\S') AS has_text,
            status IN ('solved', 'closed') AS is_settled
        FROM landing.tickets
        WHERE NOT coalesce(is_deleted, false);
        """,
    ),
    (
        10,
        "language routing: passage vectors of the other encoders; a ticket vector per encoder",
        """
        -- Passages embedded by each encoder that index.language_encoders routes a language to
        -- (the index encoder's own vectors stay in kb_chunks.embedding); text_hash says which
        -- text the vector is of, so an edited passage is re-embedded.
        CREATE TABLE landing.kb_chunk_vectors (
            chunk_id    VARCHAR NOT NULL,
            encoder     VARCHAR NOT NULL,
            text_hash   VARCHAR NOT NULL,
            embedding   FLOAT[] NOT NULL,
            PRIMARY KEY (chunk_id, encoder)
        );
        -- A German ticket keeps its index-encoder vector (assist and the audit compare tickets
        -- in one space) and gets one of its language's encoder (suggestions).
        CREATE TABLE ml.ticket_vectors_v10 (
            ticket_id   VARCHAR NOT NULL,
            encoder     VARCHAR NOT NULL,
            text_hash   VARCHAR NOT NULL,
            embedding   FLOAT[] NOT NULL,
            embedded_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (ticket_id, encoder)
        );
        INSERT INTO ml.ticket_vectors_v10 SELECT * FROM ml.ticket_vectors;
        DROP TABLE ml.ticket_vectors;
        ALTER TABLE ml.ticket_vectors_v10 RENAME TO ticket_vectors;
        """,
    ),
    (
        11,
        "the KB audit records what it read, so a night with nothing new reuses it",
        """
        -- One row: the latest audit and the SHA-256 of its inputs (knowledge.audit.audit_inputs:
        -- index version, article metadata, the recent tickets and their vectors, config, date).
        CREATE TABLE ops.kb_audits (
            audit_id   VARCHAR NOT NULL,
            inputs     VARCHAR NOT NULL,
            audited_at TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        12,
        "incident detection keeps its burst seeds per day, so a night recomputes only the days"
        " it reaches",
        """
        -- One row per UTC day with tickets (supportflow.assist.related.reached_days): what the
        -- day's seeds were computed from (inputs: encoder, incident config, first ticket's
        -- time), the day's tickets and a fingerprint of their ids and text hashes, and the ids
        -- of its burst seeds.
        CREATE TABLE ml.incident_days (
            day         BIGINT NOT NULL PRIMARY KEY,
            inputs      VARCHAR NOT NULL,
            tickets     BIGINT NOT NULL,
            fingerprint UBIGINT NOT NULL,
            seeds       VARCHAR[] NOT NULL
        );
        """,
    ),
]
