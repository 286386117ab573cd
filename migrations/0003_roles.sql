-- Roles and privileges (reliability.md §6). Roles are cluster-wide: they are created here only
-- when the migrating role may create roles (superuser or CREATEROLE); otherwise a NOTICE names each
-- missing role and migrations/ROLES.md says what an administrator runs. Privileges are granted to
-- every one of the four roles that exists. Names: {{owner_role}} (NOLOGIN, meant to own the
-- schemas), {{daemon_role}} (the daemon's login), {{writer_role}} (internal systems that push
-- changes), {{warehouse_role}} (read-only: mirror and feed).

DO $$
DECLARE
    may_create boolean := (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user);
    r record;
BEGIN
    FOR r IN SELECT * FROM (VALUES ({{owner_role_literal}}, 'NOLOGIN'), ({{daemon_role_literal}}, 'LOGIN'),
                                   ({{writer_role_literal}}, 'NOLOGIN'), ({{warehouse_role_literal}}, 'NOLOGIN'))
             AS v(name, options)
    LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.name);
        IF NOT may_create THEN
            RAISE NOTICE 'role % does not exist and % may not create roles: see migrations/ROLES.md', r.name, current_user;
            CONTINUE;
        END IF;
        BEGIN
            EXECUTE format('CREATE ROLE %I %s', r.name, r.options);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database of this cluster created it at the same moment
        END;
    END LOOP;
END
$$;

DO $$
DECLARE
    mirror text := {{mirror_literal}};
    state text := {{state_literal}};
    daemon text := {{daemon_role_literal}};
    writer text := {{writer_role_literal}};
    warehouse text := {{warehouse_role_literal}};
    w record;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = daemon) THEN
        -- Mirror and state DML, no DDL; TEMPORARY because the apply path stages batches in temp tables.
        EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), daemon);
        EXECUTE format('GRANT USAGE ON SCHEMA %I, %I TO %I', mirror, state, daemon);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I, %I TO %I', mirror, state, daemon);
        EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I, %I TO %I', mirror, state, daemon);
        EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA %I, %I TO %I', mirror, state, daemon);
    END IF;

    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = writer) THEN
        -- Reads the mirror, edits only the fields Kayako lets us PUT (kayako-api.md §6), creates
        -- objects through the intake tables.
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), writer);
        EXECUTE format('GRANT USAGE ON SCHEMA %I, %I TO %I', mirror, state, writer);
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I', mirror, writer);
        FOR w IN SELECT * FROM (VALUES
            ('tickets', 'department_id, status_id, priority_id, type_id, owner_staff_id, subject, full_name, email, user_id'),
            ('users', 'full_name, user_group_id, user_organization_id, salutation, designation, phone, is_enabled, user_role, emails, timezone, enable_dst, sla_plan_id, sla_plan_expires_at, expires_at'),
            ('organizations', 'name, organization_type, address, city, state, postal_code, country, phone, fax, website, sla_plan_id, sla_plan_expires_at'),
            ('departments', 'title, type, display_order, parent_department_id, user_visibility_custom, user_group_ids'),
            ('staff', 'first_name, last_name, staff_group_id, user_name, email, designation, greeting, mobile_number, is_enabled, timezone, enable_dst, signature'),
            ('user_groups', 'title'),
            ('staff_groups', 'title, is_admin'),
            ('ticket_custom_field_values', 'value')) AS v(tbl, cols)
        LOOP
            EXECUTE format('GRANT UPDATE (%s) ON %I.%I TO %I', w.cols, mirror, w.tbl, writer);
        END LOOP;
        FOR w IN SELECT * FROM (VALUES ('intake_tickets'), ('intake_posts'), ('intake_notes'), ('intake_users'),
                                       ('intake_organizations')) AS v(tbl)
        LOOP
            EXECUTE format('GRANT SELECT, INSERT ON %I.%I TO %I', state, w.tbl, writer);
        END LOOP;
        EXECUTE format('GRANT SELECT ON %I.outbox, %I.conflicts TO %I', state, state, writer);
    END IF;

    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = warehouse) THEN
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), warehouse);
        EXECUTE format('GRANT USAGE ON SCHEMA %I, %I TO %I', mirror, state, warehouse);
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I', mirror, warehouse);
        EXECUTE format('GRANT SELECT ON %I.changes TO %I', state, warehouse);
    END IF;
END
$$;
