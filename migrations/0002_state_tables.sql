-- State schema: the daemon's own tables (cursors, change feed, bookmarks, outbox, intake,
-- conflicts, quarantine). The migrator itself creates the schema and its schema_migrations table
-- before running 0001, so the schema already exists here.
-- {{mirror}}/{{state}} are the configured schema names; {{feed_lock_key}} is the advisory lock key
-- that orders feed commits of this helpdesk (derived from the state schema name by kayako-sync).

COMMENT ON SCHEMA {{state}} IS 'kayako-sync state of one helpdesk: cursors, change feed, outbox, intake, conflicts.';

-- ---- stream cursors ------------------------------------------------------------------------------
CREATE TABLE {{state}}.stream_cursors (
    stream          text PRIMARY KEY,
    cursor          jsonb NOT NULL,
    rows_written    bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    last_success_at timestamptz,
    last_error      text,
    last_error_at   timestamptz
);
COMMENT ON TABLE {{state}}.stream_cursors IS 'Where each sync stream stands; written in the same transaction as the page it describes.';
COMMENT ON COLUMN {{state}}.stream_cursors.stream IS 'Stream name (tickets, users, lookups:departments, ...).';
COMMENT ON COLUMN {{state}}.stream_cursors.cursor IS 'Stream-specific position (watermark, offset, marker) as JSON.';
COMMENT ON COLUMN {{state}}.stream_cursors.rows_written IS 'Mirror rows inserted, updated or deleted by this stream so far.';
COMMENT ON COLUMN {{state}}.stream_cursors.updated_at IS 'Last time the cursor or the data moved (a page with no change writes nothing).';
COMMENT ON COLUMN {{state}}.stream_cursors.last_success_at IS 'Last page that moved the cursor or changed data.';
COMMENT ON COLUMN {{state}}.stream_cursors.last_error IS 'Last error of the stream, if any (cleared by the next success).';
COMMENT ON COLUMN {{state}}.stream_cursors.last_error_at IS 'When last_error happened.';

-- ---- the change feed -----------------------------------------------------------------------------
CREATE TABLE {{state}}.changes (
    position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity          text NOT NULL,
    object_id       bigint NOT NULL,
    object_sub_id   bigint,
    version         bigint NOT NULL,
    op              text NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    changed_columns text[] NOT NULL,
    old_values      jsonb,
    new_values      jsonb NOT NULL,
    source          text NOT NULL DEFAULT 'kayako' CHECK (source IN ('kayako', 'local')),
    committed_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE {{state}}.changes IS 'Change feed: one row per inserted, updated or deleted mirror object. Positions become visible in commit order, so reading "position > last seen" never misses a row.';
COMMENT ON COLUMN {{state}}.changes.position IS 'Feed position; increases in commit order (gaps are possible, reordering is not).';
COMMENT ON COLUMN {{state}}.changes.entity IS 'Mirror table name (tickets, posts, users, ...).';
COMMENT ON COLUMN {{state}}.changes.object_id IS 'Key of the object: the id column (ticket_id for ticket_custom_field_values).';
COMMENT ON COLUMN {{state}}.changes.object_sub_id IS 'Second key part for two-column keys (field_id of ticket_custom_field_values); NULL otherwise.';
COMMENT ON COLUMN {{state}}.changes.version IS 'Mirror row version after this change; (entity, object_id, object_sub_id, version) identifies the event, so consumers can deduplicate and see gaps.';
COMMENT ON COLUMN {{state}}.changes.op IS 'insert, update or delete (a soft delete: the mirror row gets deleted_at).';
COMMENT ON COLUMN {{state}}.changes.changed_columns IS 'Mirror columns that changed (every column for an insert).';
COMMENT ON COLUMN {{state}}.changes.old_values IS 'Previous values of changed_columns as a JSON object; NULL for an insert.';
COMMENT ON COLUMN {{state}}.changes.new_values IS 'New values of changed_columns as a JSON object (the whole row for an insert).';
COMMENT ON COLUMN {{state}}.changes.source IS 'kayako: read from Kayako; local: a change pushed from this database, recorded when Kayako confirmed it.';
COMMENT ON COLUMN {{state}}.changes.committed_at IS 'Time of the transaction that wrote the change.';
CREATE INDEX changes_object_idx ON {{state}}.changes (entity, object_id, version);
CREATE INDEX changes_committed_idx ON {{state}}.changes (committed_at);

-- Commit order = position order: every statement inserting feed rows first takes a transaction
-- advisory lock, so positions are drawn by one transaction at a time and the next writer can only
-- draw after the previous one has committed (reliability.md §1.2). A plain identity column alone
-- lets a lower position become visible after a higher one, and a reader would skip it for good.
CREATE FUNCTION {{state}}.changes_commit_order() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({{feed_lock_key}});
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION {{state}}.changes_commit_order() IS 'Serialises feed writers so positions become visible in commit order.';
CREATE TRIGGER changes_commit_order BEFORE INSERT ON {{state}}.changes
    FOR EACH STATEMENT EXECUTE FUNCTION {{state}}.changes_commit_order();

CREATE TABLE {{state}}.consumer_bookmarks (
    consumer   text PRIMARY KEY,
    position   bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE {{state}}.consumer_bookmarks IS 'Named feed consumers and the last position each has processed; feed rows are pruned only once every bookmark has passed them.';
COMMENT ON COLUMN {{state}}.consumer_bookmarks.consumer IS 'Consumer name.';
COMMENT ON COLUMN {{state}}.consumer_bookmarks.position IS 'Last feed position the consumer has processed.';
COMMENT ON COLUMN {{state}}.consumer_bookmarks.updated_at IS 'When the bookmark last moved.';

-- ---- push-back: outbox, intake, conflicts --------------------------------------------------------
CREATE TABLE {{state}}.outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity          text NOT NULL,
    object_id       bigint,
    intake_id       bigint,
    operation       text NOT NULL CHECK (operation IN ('update', 'create', 'delete')),
    old_values      jsonb,
    new_values      jsonb NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'done', 'failed', 'in_doubt')),
    attempts        integer NOT NULL DEFAULT 0,
    attempt_id      uuid,
    claimed_at      timestamptz,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    remote_id       bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text NOT NULL DEFAULT current_user,
    done_at         timestamptz
);
COMMENT ON TABLE {{state}}.outbox IS 'Changes waiting to be pushed to Kayako (filled by triggers on mirror edits and by intake rows).';
COMMENT ON COLUMN {{state}}.outbox.id IS 'Queue order: changes to one object go out in this order.';
COMMENT ON COLUMN {{state}}.outbox.entity IS 'Mirror table the change is for.';
COMMENT ON COLUMN {{state}}.outbox.object_id IS 'Kayako id of the object (NULL for a creation until Kayako assigns it).';
COMMENT ON COLUMN {{state}}.outbox.intake_id IS 'Intake row behind a creation.';
COMMENT ON COLUMN {{state}}.outbox.operation IS 'update (PUT), create (POST) or delete.';
COMMENT ON COLUMN {{state}}.outbox.old_values IS 'Values before the local edit: the common base for conflict decisions.';
COMMENT ON COLUMN {{state}}.outbox.new_values IS 'Full field values to send.';
COMMENT ON COLUMN {{state}}.outbox.state IS 'pending, sending (claimed), done, failed (rejected for good, dead letter) or in_doubt (outcome unknown, left for a person).';
COMMENT ON COLUMN {{state}}.outbox.attempts IS 'Number of sends tried.';
COMMENT ON COLUMN {{state}}.outbox.attempt_id IS 'Id of the current claim.';
COMMENT ON COLUMN {{state}}.outbox.claimed_at IS 'When the current claim was committed.';
COMMENT ON COLUMN {{state}}.outbox.next_attempt_at IS 'Earliest time of the next attempt (retry backoff).';
COMMENT ON COLUMN {{state}}.outbox.last_error IS 'Last error or Kayako''s rejection message.';
COMMENT ON COLUMN {{state}}.outbox.remote_id IS 'Kayako id returned for a creation.';
COMMENT ON COLUMN {{state}}.outbox.created_at IS 'When the change was queued.';
COMMENT ON COLUMN {{state}}.outbox.created_by IS 'Database role that made the change.';
COMMENT ON COLUMN {{state}}.outbox.done_at IS 'When Kayako confirmed the change.';
CREATE INDEX outbox_pending_idx ON {{state}}.outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_object_idx ON {{state}}.outbox (entity, object_id);

CREATE TABLE {{state}}.intake_tickets (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject               text NOT NULL,
    full_name             text NOT NULL,
    email                 text NOT NULL,
    contents              text NOT NULL,
    department_id         bigint NOT NULL,
    status_id             bigint NOT NULL,
    priority_id           bigint NOT NULL,
    type_id               bigint NOT NULL,
    user_id               bigint,
    auto_user             boolean NOT NULL DEFAULT false,
    staff_id              bigint,
    owner_staff_id        bigint,
    email_queue_id        bigint,
    template_group        text,
    creation_type         text NOT NULL DEFAULT 'default' CHECK (creation_type IN ('default', 'phone')),
    ignore_auto_responder boolean NOT NULL DEFAULT false,
    client_token          uuid NOT NULL DEFAULT gen_random_uuid(),
    state                 text NOT NULL DEFAULT 'pending'
                          CHECK (state IN ('pending', 'sending', 'done', 'failed', 'in_doubt')),
    kayako_id             bigint,
    error                 text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    created_by            text NOT NULL DEFAULT current_user,
    done_at               timestamptz,
    CHECK (user_id IS NOT NULL OR staff_id IS NOT NULL OR auto_user)
);
COMMENT ON TABLE {{state}}.intake_tickets IS 'New tickets to create in Kayako (POST Tickets/Ticket); insert a row, kayako-sync fills kayako_id once Kayako created it.';
COMMENT ON COLUMN {{state}}.intake_tickets.id IS 'Intake row id (intake_posts.intake_ticket_id may refer to it).';
COMMENT ON COLUMN {{state}}.intake_tickets.subject IS 'Ticket subject.';
COMMENT ON COLUMN {{state}}.intake_tickets.full_name IS 'Requester name.';
COMMENT ON COLUMN {{state}}.intake_tickets.email IS 'Requester e-mail (must be one of the user''s addresses when user_id is set).';
COMMENT ON COLUMN {{state}}.intake_tickets.contents IS 'Body of the first post.';
COMMENT ON COLUMN {{state}}.intake_tickets.department_id IS 'Department (a tickets department).';
COMMENT ON COLUMN {{state}}.intake_tickets.status_id IS 'Initial status.';
COMMENT ON COLUMN {{state}}.intake_tickets.priority_id IS 'Initial priority.';
COMMENT ON COLUMN {{state}}.intake_tickets.type_id IS 'Ticket type.';
COMMENT ON COLUMN {{state}}.intake_tickets.user_id IS 'Existing requester user, if any.';
COMMENT ON COLUMN {{state}}.intake_tickets.auto_user IS 'Let Kayako find or create the user from full_name and email (autouserid=1).';
COMMENT ON COLUMN {{state}}.intake_tickets.staff_id IS 'Create the ticket as this staff member (Kayako may e-mail the customer).';
COMMENT ON COLUMN {{state}}.intake_tickets.owner_staff_id IS 'Initial owner.';
COMMENT ON COLUMN {{state}}.intake_tickets.email_queue_id IS 'E-mail queue to reply from.';
COMMENT ON COLUMN {{state}}.intake_tickets.template_group IS 'Template group id or title.';
COMMENT ON COLUMN {{state}}.intake_tickets.creation_type IS 'default or phone.';
COMMENT ON COLUMN {{state}}.intake_tickets.ignore_auto_responder IS 'Suppress the autoresponder e-mail.';
COMMENT ON COLUMN {{state}}.intake_tickets.client_token IS 'Unique token used to find the ticket in Kayako if the POST outcome is unknown.';
COMMENT ON COLUMN {{state}}.intake_tickets.state IS 'pending, sending, done, failed or in_doubt (as outbox.state).';
COMMENT ON COLUMN {{state}}.intake_tickets.kayako_id IS 'Kayako ticket id once created (tickets.id).';
COMMENT ON COLUMN {{state}}.intake_tickets.error IS 'Why creation failed, if it did.';
COMMENT ON COLUMN {{state}}.intake_tickets.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN {{state}}.intake_tickets.created_by IS 'Database role that inserted it.';
COMMENT ON COLUMN {{state}}.intake_tickets.done_at IS 'When Kayako confirmed the creation.';

CREATE TABLE {{state}}.intake_posts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id        bigint,
    intake_ticket_id bigint REFERENCES {{state}}.intake_tickets (id),
    contents         text NOT NULL,
    user_id          bigint,
    staff_id         bigint,
    is_private       boolean NOT NULL DEFAULT false,
    client_token     uuid NOT NULL DEFAULT gen_random_uuid(),
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'sending', 'done', 'failed', 'in_doubt')),
    kayako_id        bigint,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       text NOT NULL DEFAULT current_user,
    done_at          timestamptz,
    CHECK ((ticket_id IS NULL) <> (intake_ticket_id IS NULL)),
    CHECK (user_id IS NOT NULL OR staff_id IS NOT NULL)
);
COMMENT ON TABLE {{state}}.intake_posts IS 'New posts to add to tickets (POST Tickets/TicketPost); the ticket is named by Kayako id or by intake row.';
COMMENT ON COLUMN {{state}}.intake_posts.id IS 'Intake row id.';
COMMENT ON COLUMN {{state}}.intake_posts.ticket_id IS 'Existing ticket (tickets.id); or use intake_ticket_id.';
COMMENT ON COLUMN {{state}}.intake_posts.intake_ticket_id IS 'Ticket still being created (intake_tickets.id); the post waits for it.';
COMMENT ON COLUMN {{state}}.intake_posts.contents IS 'Post body.';
COMMENT ON COLUMN {{state}}.intake_posts.user_id IS 'Posting user (wins over staff_id).';
COMMENT ON COLUMN {{state}}.intake_posts.staff_id IS 'Posting staff member (a non-HTML, non-private staff post is e-mailed to the customer).';
COMMENT ON COLUMN {{state}}.intake_posts.is_private IS 'Private staff post.';
COMMENT ON COLUMN {{state}}.intake_posts.client_token IS 'Token used to recognise the post if the POST outcome is unknown.';
COMMENT ON COLUMN {{state}}.intake_posts.state IS 'pending, sending, done, failed or in_doubt.';
COMMENT ON COLUMN {{state}}.intake_posts.kayako_id IS 'Kayako post id once created (posts.id).';
COMMENT ON COLUMN {{state}}.intake_posts.error IS 'Why creation failed, if it did.';
COMMENT ON COLUMN {{state}}.intake_posts.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN {{state}}.intake_posts.created_by IS 'Database role that inserted it.';
COMMENT ON COLUMN {{state}}.intake_posts.done_at IS 'When Kayako confirmed the creation.';

CREATE TABLE {{state}}.intake_notes (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id        bigint,
    intake_ticket_id bigint REFERENCES {{state}}.intake_tickets (id),
    contents         text NOT NULL,
    staff_id         bigint,
    full_name        text,
    for_staff_id     bigint,
    note_color       smallint NOT NULL DEFAULT 1 CHECK (note_color BETWEEN 1 AND 5),
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'sending', 'done', 'failed', 'in_doubt')),
    kayako_id        bigint,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       text NOT NULL DEFAULT current_user,
    done_at          timestamptz,
    CHECK ((ticket_id IS NULL) <> (intake_ticket_id IS NULL)),
    CHECK (staff_id IS NOT NULL OR full_name IS NOT NULL)
);
COMMENT ON TABLE {{state}}.intake_notes IS 'New ticket notes (POST Tickets/TicketNote).';
COMMENT ON COLUMN {{state}}.intake_notes.id IS 'Intake row id.';
COMMENT ON COLUMN {{state}}.intake_notes.ticket_id IS 'Existing ticket (tickets.id); or use intake_ticket_id.';
COMMENT ON COLUMN {{state}}.intake_notes.intake_ticket_id IS 'Ticket still being created (intake_tickets.id).';
COMMENT ON COLUMN {{state}}.intake_notes.contents IS 'Note text.';
COMMENT ON COLUMN {{state}}.intake_notes.staff_id IS 'Writing staff member; or give full_name.';
COMMENT ON COLUMN {{state}}.intake_notes.full_name IS 'Writer name when no staff_id.';
COMMENT ON COLUMN {{state}}.intake_notes.for_staff_id IS 'Staff member the note is for.';
COMMENT ON COLUMN {{state}}.intake_notes.note_color IS 'Colour index 1-5.';
COMMENT ON COLUMN {{state}}.intake_notes.state IS 'pending, sending, done, failed or in_doubt.';
COMMENT ON COLUMN {{state}}.intake_notes.kayako_id IS 'Kayako note id once created (notes.id).';
COMMENT ON COLUMN {{state}}.intake_notes.error IS 'Why creation failed, if it did.';
COMMENT ON COLUMN {{state}}.intake_notes.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN {{state}}.intake_notes.created_by IS 'Database role that inserted it.';
COMMENT ON COLUMN {{state}}.intake_notes.done_at IS 'When Kayako confirmed the creation.';

CREATE TABLE {{state}}.intake_users (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    full_name            text NOT NULL,
    emails               text[] NOT NULL CHECK (cardinality(emails) > 0),
    password             text NOT NULL,
    user_group_id        bigint NOT NULL,
    user_organization_id bigint,
    salutation           text,
    designation          text,
    phone                text,
    timezone             text,
    enable_dst           boolean,
    is_enabled           boolean NOT NULL DEFAULT true,
    user_role            text NOT NULL DEFAULT 'user' CHECK (user_role IN ('user', 'manager')),
    sla_plan_id          bigint,
    sla_plan_expires_at  timestamptz,
    expires_at           timestamptz,
    send_welcome_email   boolean NOT NULL DEFAULT false,
    state                text NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'sending', 'done', 'failed', 'in_doubt')),
    kayako_id            bigint,
    error                text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    created_by           text NOT NULL DEFAULT current_user,
    done_at              timestamptz
);
COMMENT ON TABLE {{state}}.intake_users IS 'New users (POST Base/User). The password is cleared once Kayako has created the user.';
COMMENT ON COLUMN {{state}}.intake_users.id IS 'Intake row id.';
COMMENT ON COLUMN {{state}}.intake_users.full_name IS 'Full name.';
COMMENT ON COLUMN {{state}}.intake_users.emails IS 'E-mail addresses (at least one).';
COMMENT ON COLUMN {{state}}.intake_users.password IS 'Initial password (required by Kayako); emptied after creation.';
COMMENT ON COLUMN {{state}}.intake_users.user_group_id IS 'User group (must be a registered group).';
COMMENT ON COLUMN {{state}}.intake_users.user_organization_id IS 'Organization, if any.';
COMMENT ON COLUMN {{state}}.intake_users.salutation IS 'Mr., Ms., Mrs. or Dr.';
COMMENT ON COLUMN {{state}}.intake_users.designation IS 'Job title.';
COMMENT ON COLUMN {{state}}.intake_users.phone IS 'Phone number.';
COMMENT ON COLUMN {{state}}.intake_users.timezone IS 'Time zone name.';
COMMENT ON COLUMN {{state}}.intake_users.enable_dst IS 'Daylight saving time.';
COMMENT ON COLUMN {{state}}.intake_users.is_enabled IS 'Account enabled.';
COMMENT ON COLUMN {{state}}.intake_users.user_role IS 'user or manager.';
COMMENT ON COLUMN {{state}}.intake_users.sla_plan_id IS 'SLA plan.';
COMMENT ON COLUMN {{state}}.intake_users.sla_plan_expires_at IS 'SLA plan expiry.';
COMMENT ON COLUMN {{state}}.intake_users.expires_at IS 'Account expiry.';
COMMENT ON COLUMN {{state}}.intake_users.send_welcome_email IS 'Ask Kayako to send the welcome e-mail.';
COMMENT ON COLUMN {{state}}.intake_users.state IS 'pending, sending, done, failed or in_doubt.';
COMMENT ON COLUMN {{state}}.intake_users.kayako_id IS 'Kayako user id once created (users.id).';
COMMENT ON COLUMN {{state}}.intake_users.error IS 'Why creation failed, if it did.';
COMMENT ON COLUMN {{state}}.intake_users.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN {{state}}.intake_users.created_by IS 'Database role that inserted it.';
COMMENT ON COLUMN {{state}}.intake_users.done_at IS 'When Kayako confirmed the creation.';

CREATE TABLE {{state}}.intake_organizations (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                text NOT NULL,
    organization_type   text NOT NULL DEFAULT 'restricted' CHECK (organization_type IN ('restricted', 'shared')),
    address             text,
    city                text,
    state_or_region     text,
    postal_code         text,
    country             text,
    phone               text,
    fax                 text,
    website             text,
    sla_plan_id         bigint,
    sla_plan_expires_at timestamptz,
    state               text NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sending', 'done', 'failed', 'in_doubt')),
    kayako_id           bigint,
    error               text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    created_by          text NOT NULL DEFAULT current_user,
    done_at             timestamptz
);
COMMENT ON TABLE {{state}}.intake_organizations IS 'New organizations (POST Base/UserOrganization).';
COMMENT ON COLUMN {{state}}.intake_organizations.id IS 'Intake row id.';
COMMENT ON COLUMN {{state}}.intake_organizations.name IS 'Organization name.';
COMMENT ON COLUMN {{state}}.intake_organizations.organization_type IS 'restricted or shared.';
COMMENT ON COLUMN {{state}}.intake_organizations.address IS 'Street address.';
COMMENT ON COLUMN {{state}}.intake_organizations.city IS 'City.';
COMMENT ON COLUMN {{state}}.intake_organizations.state_or_region IS 'State or region (Kayako field "state").';
COMMENT ON COLUMN {{state}}.intake_organizations.postal_code IS 'Postal code.';
COMMENT ON COLUMN {{state}}.intake_organizations.country IS 'Country.';
COMMENT ON COLUMN {{state}}.intake_organizations.phone IS 'Phone number.';
COMMENT ON COLUMN {{state}}.intake_organizations.fax IS 'Fax number.';
COMMENT ON COLUMN {{state}}.intake_organizations.website IS 'Website.';
COMMENT ON COLUMN {{state}}.intake_organizations.sla_plan_id IS 'SLA plan.';
COMMENT ON COLUMN {{state}}.intake_organizations.sla_plan_expires_at IS 'SLA plan expiry.';
COMMENT ON COLUMN {{state}}.intake_organizations.state IS 'pending, sending, done, failed or in_doubt (creation state, not the address).';
COMMENT ON COLUMN {{state}}.intake_organizations.kayako_id IS 'Kayako organization id once created (organizations.id).';
COMMENT ON COLUMN {{state}}.intake_organizations.error IS 'Why creation failed, if it did.';
COMMENT ON COLUMN {{state}}.intake_organizations.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN {{state}}.intake_organizations.created_by IS 'Database role that inserted it.';
COMMENT ON COLUMN {{state}}.intake_organizations.done_at IS 'When Kayako confirmed the creation.';

CREATE TABLE {{state}}.conflicts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity       text NOT NULL,
    object_id    bigint NOT NULL,
    column_name  text NOT NULL,
    base_value   jsonb,
    local_value  jsonb,
    remote_value jsonb,
    policy       text NOT NULL CHECK (policy IN ('kayako_wins', 'local_wins', 'manual')),
    resolution   text CHECK (resolution IN ('kayako', 'local', 'pending')),
    outbox_id    bigint REFERENCES {{state}}.outbox (id),
    detected_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz,
    resolved_by  text
);
COMMENT ON TABLE {{state}}.conflicts IS 'Fields changed both locally and in Kayako since the last sync, and how each was decided.';
COMMENT ON COLUMN {{state}}.conflicts.id IS 'Conflict id.';
COMMENT ON COLUMN {{state}}.conflicts.entity IS 'Mirror table.';
COMMENT ON COLUMN {{state}}.conflicts.object_id IS 'Kayako id of the object.';
COMMENT ON COLUMN {{state}}.conflicts.column_name IS 'Mirror column changed on both sides.';
COMMENT ON COLUMN {{state}}.conflicts.base_value IS 'Value before both changes (the old value the trigger stored).';
COMMENT ON COLUMN {{state}}.conflicts.local_value IS 'Value set locally.';
COMMENT ON COLUMN {{state}}.conflicts.remote_value IS 'Value Kayako has now.';
COMMENT ON COLUMN {{state}}.conflicts.policy IS 'Policy in force: kayako_wins, local_wins or manual.';
COMMENT ON COLUMN {{state}}.conflicts.resolution IS 'Which side won, or pending for a manual decision.';
COMMENT ON COLUMN {{state}}.conflicts.outbox_id IS 'Outbox row carrying the local change.';
COMMENT ON COLUMN {{state}}.conflicts.detected_at IS 'When the conflict was found.';
COMMENT ON COLUMN {{state}}.conflicts.resolved_at IS 'When it was decided.';
COMMENT ON COLUMN {{state}}.conflicts.resolved_by IS 'Who decided it (policy name or a person).';
CREATE INDEX conflicts_object_idx ON {{state}}.conflicts (entity, object_id);

-- ---- quarantine ----------------------------------------------------------------------------------
CREATE TABLE {{state}}.quarantine (
    entity          text NOT NULL,
    object_key      text NOT NULL,
    stream          text,
    reason          text NOT NULL,
    payload_excerpt text,
    attempts        integer NOT NULL DEFAULT 1,
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    last_failed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity, object_key)
);
COMMENT ON TABLE {{state}}.quarantine IS 'Objects that could not be decoded or applied; they are skipped (never stall their stream) and reported by kayako-sync status.';
COMMENT ON COLUMN {{state}}.quarantine.entity IS 'Mirror table the object belongs to.';
COMMENT ON COLUMN {{state}}.quarantine.object_key IS 'Kayako id as text (it may be unparseable).';
COMMENT ON COLUMN {{state}}.quarantine.stream IS 'Stream that met the object.';
COMMENT ON COLUMN {{state}}.quarantine.reason IS 'Why it failed.';
COMMENT ON COLUMN {{state}}.quarantine.payload_excerpt IS 'Start of the payload, for diagnosis (bounded length).';
COMMENT ON COLUMN {{state}}.quarantine.attempts IS 'How often it failed.';
COMMENT ON COLUMN {{state}}.quarantine.first_failed_at IS 'First failure.';
COMMENT ON COLUMN {{state}}.quarantine.last_failed_at IS 'Latest failure.';
