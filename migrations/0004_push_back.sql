-- Push-back (design.md "Push-back"): triggers that turn edits of the mirror and rows of the
-- intake tables into outbox rows, in the same transaction as the edit, and the outbox columns the
-- push worker needs.
--
-- Echo suppression: the daemon marks each of its own write transactions with
--   SELECT set_config('kayako_sync.writer', 'daemon', true)
-- (transaction-local, so a pooled or reconnected session never keeps it); the triggers let those
-- writes through untouched and queue nothing.
--
-- The trigger functions are SECURITY DEFINER: the writer role may UPDATE a few mirror columns and
-- INSERT intake rows, but may not write the outbox itself.

ALTER TABLE {{state}}.outbox
    ADD COLUMN changed_columns text[] NOT NULL DEFAULT '{}',
    ADD COLUMN waits_for bigint REFERENCES {{state}}.outbox (id),
    ADD COLUMN claimed_by_pid integer,
    ADD COLUMN maybe_sent boolean NOT NULL DEFAULT false,
    ADD COLUMN search_floor bigint,
    ADD COLUMN result jsonb;
ALTER TABLE {{state}}.outbox DROP CONSTRAINT outbox_state_check;
ALTER TABLE {{state}}.outbox ADD CONSTRAINT outbox_state_check
    CHECK (state IN ('pending', 'sending', 'done', 'failed', 'in_doubt', 'held'));
COMMENT ON COLUMN {{state}}.outbox.state IS 'pending, sending (claimed), done, failed (rejected for good, dead letter), in_doubt (a creation whose outcome is unknown and could not be decided: left for a person) or held (a manual conflict waits for a decision in conflicts.resolution).';
COMMENT ON COLUMN {{state}}.outbox.old_values IS 'Writable fields before the local edit: the common base for conflict decisions.';
COMMENT ON COLUMN {{state}}.outbox.new_values IS 'Writable fields after the local edit (every writable field), or the intake row of a creation (without the password).';
COMMENT ON COLUMN {{state}}.outbox.changed_columns IS 'Mirror columns the local edit changed (what the PUT sends; organizations send every field).';
COMMENT ON COLUMN {{state}}.outbox.waits_for IS 'Outbox row that must be done first (a post or note on a ticket still being created).';
COMMENT ON COLUMN {{state}}.outbox.claimed_by_pid IS 'Backend pid of the session that claimed the row; a claim whose session is gone is taken over.';
COMMENT ON COLUMN {{state}}.outbox.maybe_sent IS 'A POST of this creation may have reached Kayako (claimed and not known to be unsent): Kayako is searched for the object before anything is sent again.';
COMMENT ON COLUMN {{state}}.outbox.search_floor IS 'For a creation: the largest id the mirror held when the row was first claimed. Kayako ids only grow, so an object this POST created has a larger id: the search for it looks above this floor (clocks are not trusted).';
COMMENT ON COLUMN {{state}}.outbox.result IS 'What happened: Kayako id, fields Kayako ignored, how an unknown outcome was decided.';
CREATE INDEX outbox_waits_for_idx ON {{state}}.outbox (waits_for) WHERE waits_for IS NOT NULL;
CREATE INDEX outbox_open_idx ON {{state}}.outbox (entity, object_id, id)
    WHERE state IN ('pending', 'sending', 'held');

-- The triggers' WHEN clause lets the daemon's own writes through without even calling the
-- function (the sync writes every row of a first load). The function checks again, for safety.
--
-- The mirror row of an edited object no longer equals what Kayako has; its content hash is emptied
-- so that the next page from Kayako (or the push result) rewrites it.
CREATE FUNCTION {{state}}.queue_local_edit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    writable text[] := TG_ARGV[0]::text[];
    o jsonb;
    n jsonb;
    k text;
    changed text[] := '{}';
BEGIN
    IF current_setting('kayako_sync.writer', true) = 'daemon' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'INSERT' THEN
        RAISE EXCEPTION 'rows of %.% come from Kayako: create objects through the intake tables of {{state}} instead', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'feature_not_supported', TABLE = TG_TABLE_NAME;
    ELSIF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'rows of %.% are deleted by kayako-sync when Kayako deletes them (deleted_at); deleting them here is not pushed to Kayako', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'feature_not_supported', TABLE = TG_TABLE_NAME;
    END IF;
    o := to_jsonb(OLD);
    n := to_jsonb(NEW);
    FOR k IN SELECT jsonb_object_keys(n) ORDER BY 1 LOOP
        IF (o -> k) IS DISTINCT FROM (n -> k) THEN
            IF NOT (k = ANY (writable)) THEN
                IF cardinality(writable) = 0 THEN
                    RAISE EXCEPTION 'column %.%.% cannot be changed: kayako-sync does not push % to Kayako', TG_TABLE_SCHEMA, TG_TABLE_NAME, k, TG_TABLE_NAME
                        USING ERRCODE = 'feature_not_supported', COLUMN = k, TABLE = TG_TABLE_NAME;
                END IF;
                RAISE EXCEPTION 'column %.%.% cannot be changed: Kayako does not accept it through its API (writable columns: %)', TG_TABLE_SCHEMA, TG_TABLE_NAME, k, array_to_string(writable, ', ')
                    USING ERRCODE = 'feature_not_supported', COLUMN = k, TABLE = TG_TABLE_NAME;
            END IF;
            changed := changed || k;
        END IF;
    END LOOP;
    IF cardinality(changed) = 0 THEN
        RETURN NEW;  -- an UPDATE that changes nothing queues nothing
    END IF;
    INSERT INTO {{state}}.outbox (entity, object_id, operation, old_values, new_values, changed_columns)
    SELECT TG_TABLE_NAME, OLD.id, 'update',
           (SELECT jsonb_object_agg(c, o -> c) FROM unnest(writable) AS c),
           (SELECT jsonb_object_agg(c, n -> c) FROM unnest(writable) AS c),
           changed;
    NEW.content_hash := '\x'::bytea;
    PERFORM pg_notify({{push_channel_literal}}, TG_TABLE_NAME);
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION {{state}}.queue_local_edit() IS 'Queues a PUT for an edit of writable mirror columns (TG_ARGV[0]: the writable columns), refuses other edits, lets the daemon''s own writes through.';

CREATE TRIGGER push_local_edit BEFORE INSERT OR UPDATE OR DELETE ON {{mirror}}.tickets
    FOR EACH ROW WHEN (current_setting('kayako_sync.writer', true) IS DISTINCT FROM 'daemon')
    EXECUTE FUNCTION {{state}}.queue_local_edit(
        '{department_id,status_id,priority_id,type_id,owner_staff_id,subject,full_name,email,user_id}');
CREATE TRIGGER push_local_edit BEFORE INSERT OR UPDATE OR DELETE ON {{mirror}}.users
    FOR EACH ROW WHEN (current_setting('kayako_sync.writer', true) IS DISTINCT FROM 'daemon')
    EXECUTE FUNCTION {{state}}.queue_local_edit(
        '{full_name,user_group_id,user_organization_id,salutation,designation,phone,is_enabled,user_role,emails,timezone,enable_dst,sla_plan_id,sla_plan_expires_at,expires_at}');
CREATE TRIGGER push_local_edit BEFORE INSERT OR UPDATE OR DELETE ON {{mirror}}.organizations
    FOR EACH ROW WHEN (current_setting('kayako_sync.writer', true) IS DISTINCT FROM 'daemon')
    EXECUTE FUNCTION {{state}}.queue_local_edit(
        '{name,organization_type,address,city,state,postal_code,country,phone,fax,website,sla_plan_id,sla_plan_expires_at}');

-- Every other mirror table is read-only for everyone but the daemon (nothing would push the edit,
-- and the mirror would silently disagree with Kayako).
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['posts', 'notes', 'time_tracks', 'attachments', 'ticket_custom_field_values',
                             'custom_fields', 'custom_field_options', 'user_groups', 'staff', 'staff_groups',
                             'departments', 'ticket_statuses', 'ticket_priorities', 'ticket_types']
    LOOP
        EXECUTE format('CREATE TRIGGER push_local_edit BEFORE INSERT OR UPDATE OR DELETE ON %I.%I'
                       ' FOR EACH ROW WHEN (current_setting(''kayako_sync.writer'', true) IS DISTINCT FROM ''daemon'')'
                       ' EXECUTE FUNCTION %I.queue_local_edit(%L)',
                       {{mirror_literal}}, t, {{state_literal}}, '{}');
    END LOOP;
END
$$;

-- Intake rows become outbox creations. A post or note on a ticket that is itself still an intake
-- row waits for that ticket's creation.
CREATE FUNCTION {{state}}.queue_intake() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    target text := TG_ARGV[0];
    row_json jsonb := to_jsonb(NEW) - 'password';
    wait bigint;
BEGIN
    -- (NEW.intake_ticket_id would not compile for the tables without that column)
    IF (row_json ->> 'intake_ticket_id') IS NOT NULL THEN
        SELECT id INTO wait FROM {{state}}.outbox
         WHERE entity = 'tickets' AND operation = 'create'
           AND intake_id = (row_json ->> 'intake_ticket_id')::bigint;
        IF wait IS NULL THEN
            RAISE EXCEPTION 'intake ticket % does not exist', row_json ->> 'intake_ticket_id'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    INSERT INTO {{state}}.outbox (entity, intake_id, operation, new_values, waits_for)
    VALUES (target, NEW.id, 'create', row_json, wait);
    PERFORM pg_notify({{push_channel_literal}}, target);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION {{state}}.queue_intake() IS 'Queues the creation of an intake row (TG_ARGV[0]: the mirror table of the object).';

CREATE TRIGGER push_intake AFTER INSERT ON {{state}}.intake_tickets
    FOR EACH ROW EXECUTE FUNCTION {{state}}.queue_intake('tickets');
CREATE TRIGGER push_intake AFTER INSERT ON {{state}}.intake_posts
    FOR EACH ROW EXECUTE FUNCTION {{state}}.queue_intake('posts');
CREATE TRIGGER push_intake AFTER INSERT ON {{state}}.intake_notes
    FOR EACH ROW EXECUTE FUNCTION {{state}}.queue_intake('notes');
CREATE TRIGGER push_intake AFTER INSERT ON {{state}}.intake_users
    FOR EACH ROW EXECUTE FUNCTION {{state}}.queue_intake('users');
CREATE TRIGGER push_intake AFTER INSERT ON {{state}}.intake_organizations
    FOR EACH ROW EXECUTE FUNCTION {{state}}.queue_intake('organizations');

-- The writer role edits only what is pushed: tickets, users, organizations (0003 granted more),
-- and may decide conflicts.
DO $$
DECLARE
    writer text := {{writer_role_literal}};
    t text;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = writer) THEN
        FOREACH t IN ARRAY ARRAY['departments', 'staff', 'user_groups', 'staff_groups', 'ticket_custom_field_values']
        LOOP
            EXECUTE format('REVOKE UPDATE ON %I.%I FROM %I', {{mirror_literal}}, t, writer);
        END LOOP;
        -- a person decides held (manual) conflicts
        EXECUTE format('GRANT UPDATE (resolution, resolved_at, resolved_by) ON %I.conflicts TO %I',
                       {{state_literal}}, writer);
    END IF;
END
$$;
