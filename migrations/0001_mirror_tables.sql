-- Mirror schema: one typed table per Kayako record type, readable without our code.
-- Conventions (kayako-api.md §4-§5):
--   * ids stay as Kayako sends them; 0 means "none" (Kayako's own convention), except
--     tickets.department_id where 0 means "in the trash";
--   * unix seconds become timestamptz, and 0 ("none") becomes NULL;
--   * 0/1 flags become boolean; repeated elements become arrays or jsonb;
--   * every row carries content_hash, version, first_seen_at, last_changed_at, deleted_at
--     (commented once, by the loop at the end of this file).
-- {{mirror}} and {{state}} are replaced by the configured schema names (quoted identifiers).

CREATE SCHEMA IF NOT EXISTS {{mirror}};
COMMENT ON SCHEMA {{mirror}} IS 'kayako-sync mirror of one Kayako Classic helpdesk (read by internal systems and the warehouse).';

-- ---- tickets ---------------------------------------------------------------------------------
CREATE TABLE {{mirror}}.tickets (
    id                   bigint PRIMARY KEY,
    display_id           text NOT NULL,
    flag_type            integer NOT NULL,
    department_id        bigint NOT NULL,
    status_id            bigint NOT NULL,
    priority_id          bigint NOT NULL,
    type_id              bigint NOT NULL,
    user_id              bigint NOT NULL,
    user_organization    text NOT NULL,
    user_organization_id bigint NOT NULL,
    owner_staff_id       bigint NOT NULL,
    owner_staff_name     text NOT NULL,
    full_name            text NOT NULL,
    email                text NOT NULL,
    last_replier         text NOT NULL,
    subject              text NOT NULL,
    created_at           timestamptz,
    last_activity_at     timestamptz,
    last_staff_reply_at  timestamptz,
    last_user_reply_at   timestamptz,
    sla_plan_id          bigint NOT NULL,
    next_reply_due_at    timestamptz,
    resolution_due_at    timestamptz,
    replies              bigint NOT NULL,
    ip_address           text NOT NULL,
    creator              smallint NOT NULL,
    creation_mode        smallint NOT NULL,
    creation_type        smallint NOT NULL,
    is_escalated         boolean NOT NULL,
    escalation_rule_id   bigint NOT NULL,
    template_group_id    bigint NOT NULL,
    template_group_name  text,
    tags                 text[] NOT NULL,
    watchers             jsonb NOT NULL,
    workflows            jsonb NOT NULL,
    content_hash         bytea NOT NULL,
    version              bigint NOT NULL,
    first_seen_at        timestamptz NOT NULL,
    last_changed_at      timestamptz NOT NULL,
    deleted_at           timestamptz
);
COMMENT ON TABLE {{mirror}}.tickets IS 'Kayako tickets (Tickets/Ticket), one row per ticket id; posts, notes, time tracks, attachments and custom field values are in their own tables.';
COMMENT ON COLUMN {{mirror}}.tickets.id IS 'Kayako ticket id (ticket@id); the key everything joins on.';
COMMENT ON COLUMN {{mirror}}.tickets.display_id IS 'Ticket number shown to people: the numeric id or a mask such as ABC-123-45678. Never use it as a key.';
COMMENT ON COLUMN {{mirror}}.tickets.flag_type IS 'Ticket flag (ticket@flagtype); 0 = no flag.';
COMMENT ON COLUMN {{mirror}}.tickets.department_id IS 'Department (departments.id); 0 = the ticket is in the trash.';
COMMENT ON COLUMN {{mirror}}.tickets.status_id IS 'Status (ticket_statuses.id).';
COMMENT ON COLUMN {{mirror}}.tickets.priority_id IS 'Priority (ticket_priorities.id).';
COMMENT ON COLUMN {{mirror}}.tickets.type_id IS 'Ticket type (ticket_types.id); Kayako element <typeid>.';
COMMENT ON COLUMN {{mirror}}.tickets.user_id IS 'Requester (users.id); 0 = none.';
COMMENT ON COLUMN {{mirror}}.tickets.user_organization IS 'Name of the requester''s organization as Kayako printed it on the ticket.';
COMMENT ON COLUMN {{mirror}}.tickets.user_organization_id IS 'Requester''s organization (organizations.id); 0 = none.';
COMMENT ON COLUMN {{mirror}}.tickets.owner_staff_id IS 'Assigned staff member (staff.id); 0 = unassigned.';
COMMENT ON COLUMN {{mirror}}.tickets.owner_staff_name IS 'Name of the assigned staff member as printed on the ticket.';
COMMENT ON COLUMN {{mirror}}.tickets.full_name IS 'Requester name on the ticket.';
COMMENT ON COLUMN {{mirror}}.tickets.email IS 'Requester e-mail address on the ticket.';
COMMENT ON COLUMN {{mirror}}.tickets.last_replier IS 'Name of whoever posted last.';
COMMENT ON COLUMN {{mirror}}.tickets.subject IS 'Ticket subject.';
COMMENT ON COLUMN {{mirror}}.tickets.created_at IS 'When the ticket was created (creationtime).';
COMMENT ON COLUMN {{mirror}}.tickets.last_activity_at IS 'Last change of the ticket in Kayako (lastactivity); the incremental sync watermark.';
COMMENT ON COLUMN {{mirror}}.tickets.last_staff_reply_at IS 'Time of the last staff post; NULL if none.';
COMMENT ON COLUMN {{mirror}}.tickets.last_user_reply_at IS 'Time of the last user post; NULL if none.';
COMMENT ON COLUMN {{mirror}}.tickets.sla_plan_id IS 'SLA plan id; 0 = none.';
COMMENT ON COLUMN {{mirror}}.tickets.next_reply_due_at IS 'SLA reply due time; NULL if none.';
COMMENT ON COLUMN {{mirror}}.tickets.resolution_due_at IS 'SLA resolution due time; NULL if none.';
COMMENT ON COLUMN {{mirror}}.tickets.replies IS 'Number of replies Kayako counts on the ticket.';
COMMENT ON COLUMN {{mirror}}.tickets.ip_address IS 'IP address the ticket was created from.';
COMMENT ON COLUMN {{mirror}}.tickets.creator IS 'Who created it: 1 staff, 2 user.';
COMMENT ON COLUMN {{mirror}}.tickets.creation_mode IS 'Channel: 1 support centre, 2 staff CP, 3 e-mail, 4 API, 5 site badge, 6 mobile, 7 staff API.';
COMMENT ON COLUMN {{mirror}}.tickets.creation_type IS '1 default (e-mail), 2 phone.';
COMMENT ON COLUMN {{mirror}}.tickets.is_escalated IS 'Whether an escalation rule has fired.';
COMMENT ON COLUMN {{mirror}}.tickets.escalation_rule_id IS 'Escalation rule that fired; 0 = none.';
COMMENT ON COLUMN {{mirror}}.tickets.template_group_id IS 'Template group id.';
COMMENT ON COLUMN {{mirror}}.tickets.template_group_name IS 'Template group name; NULL when Kayako did not send it (ListAll).';
COMMENT ON COLUMN {{mirror}}.tickets.tags IS 'Ticket tags (Kayako sends one space-separated string).';
COMMENT ON COLUMN {{mirror}}.tickets.watchers IS 'Staff watching the ticket: JSON array of {"staff_id": n, "name": "..."}.';
COMMENT ON COLUMN {{mirror}}.tickets.workflows IS 'Workflows available on the ticket: JSON array of {"id": n, "title": "..."}.';
CREATE INDEX tickets_last_activity_idx ON {{mirror}}.tickets (last_activity_at DESC);
CREATE INDEX tickets_user_idx ON {{mirror}}.tickets (user_id);
CREATE INDEX tickets_department_status_idx ON {{mirror}}.tickets (department_id, status_id);
CREATE INDEX tickets_owner_idx ON {{mirror}}.tickets (owner_staff_id);
CREATE INDEX tickets_created_idx ON {{mirror}}.tickets (created_at);

-- ---- posts -----------------------------------------------------------------------------------
CREATE TABLE {{mirror}}.posts (
    id                bigint PRIMARY KEY,
    ticket_id         bigint NOT NULL,
    created_at        timestamptz,
    user_id           bigint NOT NULL,
    full_name         text NOT NULL,
    email             text NOT NULL,
    email_to          text NOT NULL,
    ip_address        text NOT NULL,
    has_attachments   boolean NOT NULL,
    creator           smallint NOT NULL,
    is_third_party    boolean NOT NULL,
    is_html           boolean NOT NULL,
    is_emailed        boolean NOT NULL,
    staff_id          bigint NOT NULL,
    is_survey_comment boolean NOT NULL,
    contents          text NOT NULL,
    is_private        boolean NOT NULL,
    content_hash      bytea NOT NULL,
    version           bigint NOT NULL,
    first_seen_at     timestamptz NOT NULL,
    last_changed_at   timestamptz NOT NULL,
    deleted_at        timestamptz
);
COMMENT ON TABLE {{mirror}}.posts IS 'Ticket posts (Tickets/TicketPost): the messages of a ticket. Kayako cannot edit posts; they are created or deleted.';
COMMENT ON COLUMN {{mirror}}.posts.id IS 'Kayako ticket post id.';
COMMENT ON COLUMN {{mirror}}.posts.ticket_id IS 'Ticket (tickets.id).';
COMMENT ON COLUMN {{mirror}}.posts.created_at IS 'When the post was made (dateline).';
COMMENT ON COLUMN {{mirror}}.posts.user_id IS 'Posting user (users.id); 0 when a staff member posted.';
COMMENT ON COLUMN {{mirror}}.posts.full_name IS 'Name of the poster.';
COMMENT ON COLUMN {{mirror}}.posts.email IS 'E-mail address of the poster.';
COMMENT ON COLUMN {{mirror}}.posts.email_to IS 'Address the post was sent to, if it was e-mailed.';
COMMENT ON COLUMN {{mirror}}.posts.ip_address IS 'IP address of the poster.';
COMMENT ON COLUMN {{mirror}}.posts.has_attachments IS 'Whether the post has attachments (see attachments).';
COMMENT ON COLUMN {{mirror}}.posts.creator IS '1 staff, 2 user, 3 CC, 4 BCC, 5 third party.';
COMMENT ON COLUMN {{mirror}}.posts.is_third_party IS 'Posted by a third party.';
COMMENT ON COLUMN {{mirror}}.posts.is_html IS 'Contents are HTML.';
COMMENT ON COLUMN {{mirror}}.posts.is_emailed IS 'The post was e-mailed.';
COMMENT ON COLUMN {{mirror}}.posts.staff_id IS 'Posting staff member (staff.id); 0 when a user posted.';
COMMENT ON COLUMN {{mirror}}.posts.is_survey_comment IS 'The post is a survey comment.';
COMMENT ON COLUMN {{mirror}}.posts.contents IS 'Post body (text or HTML, see is_html).';
COMMENT ON COLUMN {{mirror}}.posts.is_private IS 'Private staff post, not shown to the customer.';
CREATE INDEX posts_ticket_idx ON {{mirror}}.posts (ticket_id);
CREATE INDEX posts_created_idx ON {{mirror}}.posts (created_at);

-- ---- notes (ticket notes) ----------------------------------------------------------------------
CREATE TABLE {{mirror}}.notes (
    id                 bigint PRIMARY KEY,
    ticket_id          bigint NOT NULL,
    note_color         smallint NOT NULL,
    creator_staff_id   bigint NOT NULL,
    creator_staff_name text NOT NULL,
    for_staff_id       bigint NOT NULL,
    created_at         timestamptz,
    contents           text NOT NULL,
    content_hash       bytea NOT NULL,
    version            bigint NOT NULL,
    first_seen_at      timestamptz NOT NULL,
    last_changed_at    timestamptz NOT NULL,
    deleted_at         timestamptz
);
COMMENT ON TABLE {{mirror}}.notes IS 'Ticket notes (Tickets/TicketNote, type "ticket"): internal staff notes on a ticket. Time-track notes are in time_tracks.';
COMMENT ON COLUMN {{mirror}}.notes.id IS 'Kayako ticket note id.';
COMMENT ON COLUMN {{mirror}}.notes.ticket_id IS 'Ticket (tickets.id).';
COMMENT ON COLUMN {{mirror}}.notes.note_color IS 'Colour index 1-5.';
COMMENT ON COLUMN {{mirror}}.notes.creator_staff_id IS 'Staff member who wrote the note (staff.id); 0 when written under a plain name.';
COMMENT ON COLUMN {{mirror}}.notes.creator_staff_name IS 'Name of the writer.';
COMMENT ON COLUMN {{mirror}}.notes.for_staff_id IS 'Staff member the note is addressed to; 0 = everyone.';
COMMENT ON COLUMN {{mirror}}.notes.created_at IS 'When the note was written (creationdate).';
COMMENT ON COLUMN {{mirror}}.notes.contents IS 'Note text.';
CREATE INDEX notes_ticket_idx ON {{mirror}}.notes (ticket_id);

-- ---- time tracks -------------------------------------------------------------------------------
CREATE TABLE {{mirror}}.time_tracks (
    id                    bigint PRIMARY KEY,
    ticket_id             bigint NOT NULL,
    time_worked_seconds   bigint NOT NULL,
    time_billable_seconds bigint NOT NULL,
    billed_at             timestamptz,
    worked_at             timestamptz,
    worker_staff_id       bigint NOT NULL,
    worker_staff_name     text NOT NULL,
    creator_staff_id      bigint NOT NULL,
    creator_staff_name    text NOT NULL,
    note_color            smallint NOT NULL,
    contents              text NOT NULL,
    content_hash          bytea NOT NULL,
    version               bigint NOT NULL,
    first_seen_at         timestamptz NOT NULL,
    last_changed_at       timestamptz NOT NULL,
    deleted_at            timestamptz
);
COMMENT ON TABLE {{mirror}}.time_tracks IS 'Time tracked on tickets (Tickets/TicketTimeTrack).';
COMMENT ON COLUMN {{mirror}}.time_tracks.id IS 'Kayako time track id.';
COMMENT ON COLUMN {{mirror}}.time_tracks.ticket_id IS 'Ticket (tickets.id).';
COMMENT ON COLUMN {{mirror}}.time_tracks.time_worked_seconds IS 'Time worked, in seconds.';
COMMENT ON COLUMN {{mirror}}.time_tracks.time_billable_seconds IS 'Billable time, in seconds.';
COMMENT ON COLUMN {{mirror}}.time_tracks.billed_at IS 'Bill date (billdate); NULL if none.';
COMMENT ON COLUMN {{mirror}}.time_tracks.worked_at IS 'Work date (workdate); NULL if none.';
COMMENT ON COLUMN {{mirror}}.time_tracks.worker_staff_id IS 'Staff member who did the work (staff.id).';
COMMENT ON COLUMN {{mirror}}.time_tracks.worker_staff_name IS 'Name of the worker.';
COMMENT ON COLUMN {{mirror}}.time_tracks.creator_staff_id IS 'Staff member who recorded the entry (staff.id).';
COMMENT ON COLUMN {{mirror}}.time_tracks.creator_staff_name IS 'Name of whoever recorded it.';
COMMENT ON COLUMN {{mirror}}.time_tracks.note_color IS 'Colour index of the attached note.';
COMMENT ON COLUMN {{mirror}}.time_tracks.contents IS 'Note text of the entry.';
CREATE INDEX time_tracks_ticket_idx ON {{mirror}}.time_tracks (ticket_id);
CREATE INDEX time_tracks_worker_idx ON {{mirror}}.time_tracks (worker_staff_id, worked_at);

-- ---- attachments (metadata only) -----------------------------------------------------------------
CREATE TABLE {{mirror}}.attachments (
    id              bigint PRIMARY KEY,
    ticket_id       bigint NOT NULL,
    post_id         bigint NOT NULL,
    file_name       text NOT NULL,
    file_size       bigint NOT NULL,
    file_type       text NOT NULL,
    created_at      timestamptz,
    content_hash    bytea NOT NULL,
    version         bigint NOT NULL,
    first_seen_at   timestamptz NOT NULL,
    last_changed_at timestamptz NOT NULL,
    deleted_at      timestamptz
);
COMMENT ON TABLE {{mirror}}.attachments IS 'Attachments of ticket posts (Tickets/TicketAttachment): metadata only; the file contents stay in Kayako.';
COMMENT ON COLUMN {{mirror}}.attachments.id IS 'Kayako attachment id.';
COMMENT ON COLUMN {{mirror}}.attachments.ticket_id IS 'Ticket (tickets.id).';
COMMENT ON COLUMN {{mirror}}.attachments.post_id IS 'Post the file is attached to (posts.id).';
COMMENT ON COLUMN {{mirror}}.attachments.file_name IS 'File name.';
COMMENT ON COLUMN {{mirror}}.attachments.file_size IS 'File size in bytes.';
COMMENT ON COLUMN {{mirror}}.attachments.file_type IS 'MIME type.';
COMMENT ON COLUMN {{mirror}}.attachments.created_at IS 'When it was attached (dateline).';
CREATE INDEX attachments_ticket_idx ON {{mirror}}.attachments (ticket_id);
CREATE INDEX attachments_post_idx ON {{mirror}}.attachments (post_id);

-- ---- custom fields: definitions, options, values per ticket --------------------------------------
CREATE TABLE {{mirror}}.custom_fields (
    id                bigint PRIMARY KEY,
    group_id          bigint NOT NULL,
    title             text NOT NULL,
    field_type        smallint NOT NULL,
    field_name        text NOT NULL,
    default_value     text NOT NULL,
    is_required       boolean NOT NULL,
    is_user_editable  boolean NOT NULL,
    is_staff_editable boolean NOT NULL,
    regexp_validate   text NOT NULL,
    display_order     integer NOT NULL,
    encrypt_in_db     boolean NOT NULL,
    description       text NOT NULL,
    group_type        smallint NOT NULL,
    content_hash      bytea NOT NULL,
    version           bigint NOT NULL,
    first_seen_at     timestamptz NOT NULL,
    last_changed_at   timestamptz NOT NULL,
    deleted_at        timestamptz
);
COMMENT ON TABLE {{mirror}}.custom_fields IS 'Custom field definitions (Base/CustomField).';
COMMENT ON COLUMN {{mirror}}.custom_fields.id IS 'Kayako custom field id (customfieldid).';
COMMENT ON COLUMN {{mirror}}.custom_fields.group_id IS 'Custom field group id (customfieldgroupid).';
COMMENT ON COLUMN {{mirror}}.custom_fields.title IS 'Field title shown to people.';
COMMENT ON COLUMN {{mirror}}.custom_fields.field_type IS '1 text, 2 textarea, 3 password, 4 checkbox, 5 radio, 6 select, 7 multi-select, 8 custom, 9 linked select, 10 date, 11 file.';
COMMENT ON COLUMN {{mirror}}.custom_fields.field_name IS 'Field key used in API calls (fieldname).';
COMMENT ON COLUMN {{mirror}}.custom_fields.default_value IS 'Default value.';
COMMENT ON COLUMN {{mirror}}.custom_fields.is_required IS 'The field must be filled.';
COMMENT ON COLUMN {{mirror}}.custom_fields.is_user_editable IS 'Users may edit the field.';
COMMENT ON COLUMN {{mirror}}.custom_fields.is_staff_editable IS 'Staff may edit the field.';
COMMENT ON COLUMN {{mirror}}.custom_fields.regexp_validate IS 'Validation regular expression, if any.';
COMMENT ON COLUMN {{mirror}}.custom_fields.display_order IS 'Display order.';
COMMENT ON COLUMN {{mirror}}.custom_fields.encrypt_in_db IS 'Kayako stores the value encrypted.';
COMMENT ON COLUMN {{mirror}}.custom_fields.description IS 'Field description.';
COMMENT ON COLUMN {{mirror}}.custom_fields.group_type IS 'Kind of the group the field belongs to (ticket, user, organization, ...), Kayako numbering.';

CREATE TABLE {{mirror}}.custom_field_options (
    id               bigint PRIMARY KEY,
    custom_field_id  bigint NOT NULL,
    option_value     text NOT NULL,
    display_order    integer NOT NULL,
    is_selected      boolean NOT NULL,
    parent_option_id bigint NOT NULL,
    content_hash     bytea NOT NULL,
    version          bigint NOT NULL,
    first_seen_at    timestamptz NOT NULL,
    last_changed_at  timestamptz NOT NULL,
    deleted_at       timestamptz
);
COMMENT ON TABLE {{mirror}}.custom_field_options IS 'Options of select-type custom fields (Base/CustomField/ListOptions).';
COMMENT ON COLUMN {{mirror}}.custom_field_options.id IS 'Kayako option id (customfieldoptionid).';
COMMENT ON COLUMN {{mirror}}.custom_field_options.custom_field_id IS 'Field the option belongs to (custom_fields.id).';
COMMENT ON COLUMN {{mirror}}.custom_field_options.option_value IS 'Option text.';
COMMENT ON COLUMN {{mirror}}.custom_field_options.display_order IS 'Display order.';
COMMENT ON COLUMN {{mirror}}.custom_field_options.is_selected IS 'Selected by default.';
COMMENT ON COLUMN {{mirror}}.custom_field_options.parent_option_id IS 'Parent option for linked selects; 0 = top level.';
CREATE INDEX custom_field_options_field_idx ON {{mirror}}.custom_field_options (custom_field_id);

CREATE TABLE {{mirror}}.ticket_custom_field_values (
    ticket_id       bigint NOT NULL,
    field_id        bigint NOT NULL,
    group_id        bigint NOT NULL,
    group_title     text NOT NULL,
    field_title     text NOT NULL,
    field_type      smallint NOT NULL,
    field_name      text NOT NULL,
    value           text NOT NULL,
    file_name       text,
    content_hash    bytea NOT NULL,
    version         bigint NOT NULL,
    first_seen_at   timestamptz NOT NULL,
    last_changed_at timestamptz NOT NULL,
    deleted_at      timestamptz,
    PRIMARY KEY (ticket_id, field_id)
);
COMMENT ON TABLE {{mirror}}.ticket_custom_field_values IS 'Custom field values of tickets (Tickets/TicketCustomField), one row per ticket and field.';
COMMENT ON COLUMN {{mirror}}.ticket_custom_field_values.ticket_id IS 'Ticket (tickets.id).';
COMMENT ON COLUMN {{mirror}}.ticket_custom_field_values.field_id IS 'Custom field (custom_fields.id).';
COMMENT ON COLUMN {{mirror}}.ticket_custom_field_values.group_id IS 'Custom field group id.';
COMMENT ON COLUMN {{mirror}}.ticket_custom_field_values.group_title IS 'Custom field group title.';
COMMENT ON COLUMN {{mirror}}.ticket_custom_field_values.field_title IS 'Field title.';
COMMENT ON COLUMN {{mirror}}.ticket_custom_field_values.field_type IS 'Field type, as custom_fields.field_type.';
COMMENT ON COLUMN {{mirror}}.ticket_custom_field_values.field_name IS 'Field key (fieldname).';
COMMENT ON COLUMN {{mirror}}.ticket_custom_field_values.value IS 'Value as Kayako renders it: option titles, multi-values joined by ", " (commas inside values escaped as "\,").';
COMMENT ON COLUMN {{mirror}}.ticket_custom_field_values.file_name IS 'File name for file fields; NULL otherwise.';
CREATE INDEX ticket_custom_field_values_field_idx ON {{mirror}}.ticket_custom_field_values (field_id);

-- ---- users and organizations --------------------------------------------------------------------
CREATE TABLE {{mirror}}.users (
    id                   bigint PRIMARY KEY,
    user_group_id        bigint NOT NULL,
    user_role            text NOT NULL,
    user_organization_id bigint NOT NULL,
    salutation           text NOT NULL,
    expires_at           timestamptz,
    full_name            text NOT NULL,
    emails               text[] NOT NULL,
    designation          text NOT NULL,
    phone                text NOT NULL,
    created_at           timestamptz,
    last_visit_at        timestamptz,
    is_enabled           boolean NOT NULL,
    timezone             text NOT NULL,
    enable_dst           boolean NOT NULL,
    sla_plan_id          bigint NOT NULL,
    sla_plan_expires_at  timestamptz,
    content_hash         bytea NOT NULL,
    version              bigint NOT NULL,
    first_seen_at        timestamptz NOT NULL,
    last_changed_at      timestamptz NOT NULL,
    deleted_at           timestamptz
);
COMMENT ON TABLE {{mirror}}.users IS 'Kayako users (customers; Base/User).';
COMMENT ON COLUMN {{mirror}}.users.id IS 'Kayako user id.';
COMMENT ON COLUMN {{mirror}}.users.user_group_id IS 'User group (user_groups.id).';
COMMENT ON COLUMN {{mirror}}.users.user_role IS '"user" or "manager" (a manager sees the organization''s tickets).';
COMMENT ON COLUMN {{mirror}}.users.user_organization_id IS 'Organization (organizations.id); 0 = none.';
COMMENT ON COLUMN {{mirror}}.users.salutation IS 'Salutation (Mr., Ms., ...).';
COMMENT ON COLUMN {{mirror}}.users.expires_at IS 'Account expiry (userexpiry); NULL = never.';
COMMENT ON COLUMN {{mirror}}.users.full_name IS 'Full name.';
COMMENT ON COLUMN {{mirror}}.users.emails IS 'E-mail addresses, in Kayako''s order.';
COMMENT ON COLUMN {{mirror}}.users.designation IS 'Job title.';
COMMENT ON COLUMN {{mirror}}.users.phone IS 'Phone number.';
COMMENT ON COLUMN {{mirror}}.users.created_at IS 'When the user was created (dateline).';
COMMENT ON COLUMN {{mirror}}.users.last_visit_at IS 'Last visit; NULL if never.';
COMMENT ON COLUMN {{mirror}}.users.is_enabled IS 'Account enabled.';
COMMENT ON COLUMN {{mirror}}.users.timezone IS 'Time zone name.';
COMMENT ON COLUMN {{mirror}}.users.enable_dst IS 'Daylight saving time enabled.';
COMMENT ON COLUMN {{mirror}}.users.sla_plan_id IS 'SLA plan id; 0 = none.';
COMMENT ON COLUMN {{mirror}}.users.sla_plan_expires_at IS 'SLA plan expiry; NULL = never.';
CREATE INDEX users_organization_idx ON {{mirror}}.users (user_organization_id);
CREATE INDEX users_emails_idx ON {{mirror}}.users USING gin (emails);

CREATE TABLE {{mirror}}.organizations (
    id                  bigint PRIMARY KEY,
    name                text NOT NULL,
    organization_type   text NOT NULL,
    address             text NOT NULL,
    city                text NOT NULL,
    state               text NOT NULL,
    postal_code         text NOT NULL,
    country             text NOT NULL,
    phone               text NOT NULL,
    fax                 text NOT NULL,
    website             text NOT NULL,
    created_at          timestamptz,
    updated_at          timestamptz,
    sla_plan_id         bigint NOT NULL,
    sla_plan_expires_at timestamptz,
    content_hash        bytea NOT NULL,
    version             bigint NOT NULL,
    first_seen_at       timestamptz NOT NULL,
    last_changed_at     timestamptz NOT NULL,
    deleted_at          timestamptz
);
COMMENT ON TABLE {{mirror}}.organizations IS 'User organizations (Base/UserOrganization).';
COMMENT ON COLUMN {{mirror}}.organizations.id IS 'Kayako organization id.';
COMMENT ON COLUMN {{mirror}}.organizations.name IS 'Organization name.';
COMMENT ON COLUMN {{mirror}}.organizations.organization_type IS '"restricted" or "shared".';
COMMENT ON COLUMN {{mirror}}.organizations.address IS 'Street address.';
COMMENT ON COLUMN {{mirror}}.organizations.city IS 'City.';
COMMENT ON COLUMN {{mirror}}.organizations.state IS 'State or region.';
COMMENT ON COLUMN {{mirror}}.organizations.postal_code IS 'Postal code.';
COMMENT ON COLUMN {{mirror}}.organizations.country IS 'Country.';
COMMENT ON COLUMN {{mirror}}.organizations.phone IS 'Phone number.';
COMMENT ON COLUMN {{mirror}}.organizations.fax IS 'Fax number.';
COMMENT ON COLUMN {{mirror}}.organizations.website IS 'Website.';
COMMENT ON COLUMN {{mirror}}.organizations.created_at IS 'When the organization was created (dateline).';
COMMENT ON COLUMN {{mirror}}.organizations.updated_at IS 'Last modification in Kayako (lastupdate).';
COMMENT ON COLUMN {{mirror}}.organizations.sla_plan_id IS 'SLA plan id; 0 = none.';
COMMENT ON COLUMN {{mirror}}.organizations.sla_plan_expires_at IS 'SLA plan expiry; NULL = never.';
CREATE INDEX organizations_name_idx ON {{mirror}}.organizations (lower(name));

-- ---- lookups -------------------------------------------------------------------------------------
CREATE TABLE {{mirror}}.user_groups (
    id              bigint PRIMARY KEY,
    title           text NOT NULL,
    group_type      text NOT NULL,
    is_master       boolean NOT NULL,
    content_hash    bytea NOT NULL,
    version         bigint NOT NULL,
    first_seen_at   timestamptz NOT NULL,
    last_changed_at timestamptz NOT NULL,
    deleted_at      timestamptz
);
COMMENT ON TABLE {{mirror}}.user_groups IS 'User groups (Base/UserGroup).';
COMMENT ON COLUMN {{mirror}}.user_groups.id IS 'Kayako user group id.';
COMMENT ON COLUMN {{mirror}}.user_groups.title IS 'Group title.';
COMMENT ON COLUMN {{mirror}}.user_groups.group_type IS '"guest" or "registered".';
COMMENT ON COLUMN {{mirror}}.user_groups.is_master IS 'Built-in group that cannot be deleted.';

CREATE TABLE {{mirror}}.staff (
    id              bigint PRIMARY KEY,
    staff_group_id  bigint NOT NULL,
    first_name      text NOT NULL,
    last_name       text NOT NULL,
    full_name       text NOT NULL,
    user_name       text NOT NULL,
    email           text NOT NULL,
    designation     text NOT NULL,
    greeting        text NOT NULL,
    mobile_number   text NOT NULL,
    is_enabled      boolean NOT NULL,
    timezone        text NOT NULL,
    enable_dst      boolean NOT NULL,
    signature       text NOT NULL,
    content_hash    bytea NOT NULL,
    version         bigint NOT NULL,
    first_seen_at   timestamptz NOT NULL,
    last_changed_at timestamptz NOT NULL,
    deleted_at      timestamptz
);
COMMENT ON TABLE {{mirror}}.staff IS 'Staff members (Base/Staff).';
COMMENT ON COLUMN {{mirror}}.staff.id IS 'Kayako staff id.';
COMMENT ON COLUMN {{mirror}}.staff.staff_group_id IS 'Staff group (staff_groups.id).';
COMMENT ON COLUMN {{mirror}}.staff.first_name IS 'First name.';
COMMENT ON COLUMN {{mirror}}.staff.last_name IS 'Last name.';
COMMENT ON COLUMN {{mirror}}.staff.full_name IS 'Full name.';
COMMENT ON COLUMN {{mirror}}.staff.user_name IS 'Login name.';
COMMENT ON COLUMN {{mirror}}.staff.email IS 'E-mail address.';
COMMENT ON COLUMN {{mirror}}.staff.designation IS 'Job title.';
COMMENT ON COLUMN {{mirror}}.staff.greeting IS 'Greeting text.';
COMMENT ON COLUMN {{mirror}}.staff.mobile_number IS 'Mobile number.';
COMMENT ON COLUMN {{mirror}}.staff.is_enabled IS 'Account enabled.';
COMMENT ON COLUMN {{mirror}}.staff.timezone IS 'Time zone name.';
COMMENT ON COLUMN {{mirror}}.staff.enable_dst IS 'Daylight saving time enabled.';
COMMENT ON COLUMN {{mirror}}.staff.signature IS 'E-mail signature.';

CREATE TABLE {{mirror}}.staff_groups (
    id              bigint PRIMARY KEY,
    title           text NOT NULL,
    is_admin        boolean NOT NULL,
    content_hash    bytea NOT NULL,
    version         bigint NOT NULL,
    first_seen_at   timestamptz NOT NULL,
    last_changed_at timestamptz NOT NULL,
    deleted_at      timestamptz
);
COMMENT ON TABLE {{mirror}}.staff_groups IS 'Staff groups (Base/StaffGroup).';
COMMENT ON COLUMN {{mirror}}.staff_groups.id IS 'Kayako staff group id.';
COMMENT ON COLUMN {{mirror}}.staff_groups.title IS 'Group title.';
COMMENT ON COLUMN {{mirror}}.staff_groups.is_admin IS 'Members are administrators.';

CREATE TABLE {{mirror}}.departments (
    id                     bigint PRIMARY KEY,
    title                  text NOT NULL,
    type                   text NOT NULL,
    module                 text NOT NULL,
    app                    text NOT NULL,
    display_order          integer NOT NULL,
    parent_department_id   bigint NOT NULL,
    user_visibility_custom boolean NOT NULL,
    user_group_ids         bigint[] NOT NULL,
    content_hash           bytea NOT NULL,
    version                bigint NOT NULL,
    first_seen_at          timestamptz NOT NULL,
    last_changed_at        timestamptz NOT NULL,
    deleted_at             timestamptz
);
COMMENT ON TABLE {{mirror}}.departments IS 'Departments (Base/Department).';
COMMENT ON COLUMN {{mirror}}.departments.id IS 'Kayako department id.';
COMMENT ON COLUMN {{mirror}}.departments.title IS 'Department title.';
COMMENT ON COLUMN {{mirror}}.departments.type IS '"public" or "private".';
COMMENT ON COLUMN {{mirror}}.departments.module IS '"tickets" or "livechat".';
COMMENT ON COLUMN {{mirror}}.departments.app IS 'Same value as module.';
COMMENT ON COLUMN {{mirror}}.departments.display_order IS 'Display order.';
COMMENT ON COLUMN {{mirror}}.departments.parent_department_id IS 'Parent department; 0 = top level.';
COMMENT ON COLUMN {{mirror}}.departments.user_visibility_custom IS 'Visible only to the user groups in user_group_ids.';
COMMENT ON COLUMN {{mirror}}.departments.user_group_ids IS 'User groups (user_groups.id) that see the department when user_visibility_custom.';

CREATE TABLE {{mirror}}.ticket_statuses (
    id                      bigint PRIMARY KEY,
    title                   text NOT NULL,
    display_order           integer NOT NULL,
    department_id           bigint NOT NULL,
    display_icon            text NOT NULL,
    type                    text NOT NULL,
    display_in_main_list    boolean NOT NULL,
    mark_as_resolved        boolean NOT NULL,
    display_count           boolean NOT NULL,
    status_color            text NOT NULL,
    status_bg_color         text NOT NULL,
    reset_due_time          boolean NOT NULL,
    trigger_survey          boolean NOT NULL,
    staff_visibility_custom boolean NOT NULL,
    staff_group_ids         bigint[] NOT NULL,
    content_hash            bytea NOT NULL,
    version                 bigint NOT NULL,
    first_seen_at           timestamptz NOT NULL,
    last_changed_at         timestamptz NOT NULL,
    deleted_at              timestamptz
);
COMMENT ON TABLE {{mirror}}.ticket_statuses IS 'Ticket statuses (Tickets/TicketStatus).';
COMMENT ON COLUMN {{mirror}}.ticket_statuses.id IS 'Kayako ticket status id.';
COMMENT ON COLUMN {{mirror}}.ticket_statuses.title IS 'Status title.';
COMMENT ON COLUMN {{mirror}}.ticket_statuses.display_order IS 'Display order.';
COMMENT ON COLUMN {{mirror}}.ticket_statuses.department_id IS 'Department the status is limited to; 0 = all.';
COMMENT ON COLUMN {{mirror}}.ticket_statuses.display_icon IS 'Icon path.';
COMMENT ON COLUMN {{mirror}}.ticket_statuses.type IS '"public" or "private".';
COMMENT ON COLUMN {{mirror}}.ticket_statuses.display_in_main_list IS 'Shown in the main ticket list.';
COMMENT ON COLUMN {{mirror}}.ticket_statuses.mark_as_resolved IS 'Tickets with this status count as resolved.';
COMMENT ON COLUMN {{mirror}}.ticket_statuses.display_count IS 'Ticket count shown.';
COMMENT ON COLUMN {{mirror}}.ticket_statuses.status_color IS 'Text colour.';
COMMENT ON COLUMN {{mirror}}.ticket_statuses.status_bg_color IS 'Background colour.';
COMMENT ON COLUMN {{mirror}}.ticket_statuses.reset_due_time IS 'Setting the status resets the due time.';
COMMENT ON COLUMN {{mirror}}.ticket_statuses.trigger_survey IS 'Setting the status sends a survey.';
COMMENT ON COLUMN {{mirror}}.ticket_statuses.staff_visibility_custom IS 'Visible only to the staff groups in staff_group_ids.';
COMMENT ON COLUMN {{mirror}}.ticket_statuses.staff_group_ids IS 'Staff groups (staff_groups.id) that see the status when staff_visibility_custom.';

CREATE TABLE {{mirror}}.ticket_priorities (
    id                     bigint PRIMARY KEY,
    title                  text NOT NULL,
    display_order          integer NOT NULL,
    fr_color_code          text NOT NULL,
    bg_color_code          text NOT NULL,
    type                   text NOT NULL,
    user_visibility_custom boolean NOT NULL,
    user_group_ids         bigint[] NOT NULL,
    content_hash           bytea NOT NULL,
    version                bigint NOT NULL,
    first_seen_at          timestamptz NOT NULL,
    last_changed_at        timestamptz NOT NULL,
    deleted_at             timestamptz
);
COMMENT ON TABLE {{mirror}}.ticket_priorities IS 'Ticket priorities (Tickets/TicketPriority).';
COMMENT ON COLUMN {{mirror}}.ticket_priorities.id IS 'Kayako ticket priority id.';
COMMENT ON COLUMN {{mirror}}.ticket_priorities.title IS 'Priority title.';
COMMENT ON COLUMN {{mirror}}.ticket_priorities.display_order IS 'Display order.';
COMMENT ON COLUMN {{mirror}}.ticket_priorities.fr_color_code IS 'Text colour.';
COMMENT ON COLUMN {{mirror}}.ticket_priorities.bg_color_code IS 'Background colour.';
COMMENT ON COLUMN {{mirror}}.ticket_priorities.type IS '"public" or "private".';
COMMENT ON COLUMN {{mirror}}.ticket_priorities.user_visibility_custom IS 'Visible only to the user groups in user_group_ids.';
COMMENT ON COLUMN {{mirror}}.ticket_priorities.user_group_ids IS 'User groups (user_groups.id) that see the priority when user_visibility_custom.';

CREATE TABLE {{mirror}}.ticket_types (
    id                     bigint PRIMARY KEY,
    title                  text NOT NULL,
    display_order          integer NOT NULL,
    department_id          bigint NOT NULL,
    display_icon           text NOT NULL,
    type                   text NOT NULL,
    user_visibility_custom boolean NOT NULL,
    user_group_ids         bigint[] NOT NULL,
    content_hash           bytea NOT NULL,
    version                bigint NOT NULL,
    first_seen_at          timestamptz NOT NULL,
    last_changed_at        timestamptz NOT NULL,
    deleted_at             timestamptz
);
COMMENT ON TABLE {{mirror}}.ticket_types IS 'Ticket types (Tickets/TicketType).';
COMMENT ON COLUMN {{mirror}}.ticket_types.id IS 'Kayako ticket type id.';
COMMENT ON COLUMN {{mirror}}.ticket_types.title IS 'Type title.';
COMMENT ON COLUMN {{mirror}}.ticket_types.display_order IS 'Display order.';
COMMENT ON COLUMN {{mirror}}.ticket_types.department_id IS 'Department the type is limited to; 0 = all.';
COMMENT ON COLUMN {{mirror}}.ticket_types.display_icon IS 'Icon path.';
COMMENT ON COLUMN {{mirror}}.ticket_types.type IS '"public" or "private".';
COMMENT ON COLUMN {{mirror}}.ticket_types.user_visibility_custom IS 'Visible only to the user groups in user_group_ids.';
COMMENT ON COLUMN {{mirror}}.ticket_types.user_group_ids IS 'User groups (user_groups.id) that see the type when user_visibility_custom.';

-- ---- bookkeeping columns, the same on every mirror table ----------------------------------------
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c
             WHERE c.relnamespace = {{mirror_literal}}::regnamespace AND c.relkind = 'r'
    LOOP
        EXECUTE format('COMMENT ON COLUMN %I.%I.content_hash IS %L', {{mirror_literal}}, t,
            'SHA-256 of the mapped column values, computed by kayako-sync; an equal hash means nothing changed and nothing is written.');
        EXECUTE format('COMMENT ON COLUMN %I.%I.version IS %L', {{mirror_literal}}, t,
            'Grows by one on every change (1 = first seen); change feed rows carry the same number.');
        EXECUTE format('COMMENT ON COLUMN %I.%I.first_seen_at IS %L', {{mirror_literal}}, t,
            'When kayako-sync first wrote the row.');
        EXECUTE format('COMMENT ON COLUMN %I.%I.last_changed_at IS %L', {{mirror_literal}}, t,
            'When kayako-sync last changed the row (not touched when nothing changed).');
        EXECUTE format('COMMENT ON COLUMN %I.%I.deleted_at IS %L', {{mirror_literal}}, t,
            'When kayako-sync found the object deleted in Kayako; NULL while it exists. Rows are never removed.');
    END LOOP;
END
$$;
