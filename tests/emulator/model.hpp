#pragma once

// The emulator's in-memory helpdesk. These are the emulator's OWN structs, named after Kayako's
// database columns (not after the XML the connector decodes), so a misreading shared with the
// connector's records.hpp cannot make both sides agree on something Kayako does not do.
//
// Every table is a vector sorted by id (ids only grow), looked up by binary search. Ticket posts
// and attachments are not stored for seeded tickets: they are regenerated on demand from the seed
// and the ticket's id ranges (identical bytes every time), which keeps a 100k-ticket start fast.
// A write (part 2) materialises them into `posts` / `attachments` on the ticket.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ksync::emulator {

using id_t = std::int64_t;

struct department {
    id_t departmentid = 0;
    std::string title;
    std::string departmenttype;  // public | private
    std::string departmentapp;   // tickets | livechat
    int displayorder = 0;
    id_t parentdepartmentid = 0;
    int uservisibilitycustom = 0;
    std::vector<id_t> usergroupids;
};

struct ticket_status {
    id_t ticketstatusid = 0;
    std::string title;
    int displayorder = 0;
    id_t departmentid = 0;  // 0 = global
    std::string displayicon;
    std::string statustype;  // public | private
    int displayinmainlist = 1;
    int markasresolved = 0;
    int displaycount = 1;
    std::string statuscolor;
    std::string statusbgcolor;
    int resetduetime = 0;
    int triggersurvey = 0;
    int staffvisibilitycustom = 0;
    std::vector<id_t> staffgroupids;
};

struct ticket_priority {
    id_t priorityid = 0;
    std::string title;
    int displayorder = 0;
    std::string frcolorcode;
    std::string bgcolorcode;
    std::string type;
    int uservisibilitycustom = 0;
    std::vector<id_t> usergroupids;
};

struct ticket_type {
    id_t tickettypeid = 0;
    std::string title;
    int displayorder = 0;
    id_t departmentid = 0;
    std::string displayicon;
    std::string type;
    int uservisibilitycustom = 0;
    std::vector<id_t> usergroupids;
};

struct staff_group {
    id_t staffgroupid = 0;
    std::string title;
    int isadmin = 0;
};

struct staff_member {
    id_t staffid = 0;
    id_t staffgroupid = 0;
    std::string firstname;
    std::string lastname;
    std::string fullname;
    std::string username;
    std::string email;
    std::string designation;
    std::string greeting;
    std::string mobilenumber;
    int isenabled = 1;
    std::string timezonephp;
    int enabledst = 0;
    std::string signature;
};

struct user_group {
    id_t usergroupid = 0;
    std::string title;
    int grouptype = 1;  // 0 guest, 1 registered (rendered as text)
    int ismaster = 0;
};

struct organization {
    id_t userorganizationid = 0;
    std::string organizationname;
    int organizationtype = 1;  // 1 restricted, 2 shared
    std::string address;
    std::string city;
    std::string state;
    std::string postalcode;
    std::string country;
    std::string phone;
    std::string fax;
    std::string website;
    std::int64_t dateline = 0;
    std::int64_t lastupdate = 0;
    id_t slaplanid = 0;
    std::int64_t slaplanexpiry = 0;
};

struct user {
    id_t userid = 0;
    id_t usergroupid = 0;
    int userrole = 1;  // 1 user, 2 manager
    id_t userorganizationid = 0;
    std::string salutation;
    std::int64_t userexpiry = 0;
    std::string fullname;
    std::vector<std::string> emails;
    std::string userdesignation;
    std::string phone;
    std::int64_t dateline = 0;
    std::int64_t lastvisit = 0;
    int isenabled = 1;
    std::string timezonephp;
    int enabledst = 0;
    id_t slaplanid = 0;
    std::int64_t slaplanexpiry = 0;
};

// usernotes: linktype 1 = user, 2 = organisation.
struct user_note {
    id_t usernoteid = 0;
    int linktype = 1;
    id_t linktypeid = 0;
    id_t staffid = 0;
    std::string staffname;
    int notecolor = 1;
    std::int64_t dateline = 0;
    std::string contents;
};

struct ticket_note {
    id_t ticketnoteid = 0;
    id_t ticketid = 0;
    id_t staffid = 0;  // creator
    id_t forstaffid = 0;
    std::string staffname;
    int notecolor = 1;
    std::int64_t dateline = 0;
    std::string note;
};

struct time_track {
    id_t tickettimetrackid = 0;
    id_t ticketid = 0;
    std::int64_t timespent = 0;
    std::int64_t timebillable = 0;
    std::int64_t dateline = 0;  // bill date
    std::int64_t workdateline = 0;
    id_t workerstaffid = 0;
    std::string workerstaffname;
    id_t creatorstaffid = 0;
    std::string creatorstaffname;
    int notecolor = 1;
    std::string notes;
};

struct attachment {
    id_t attachmentid = 0;
    id_t ticketid = 0;
    id_t ticketpostid = 0;
    std::string filename;
    std::string filetype;
    std::int64_t dateline = 0;
    std::string contents;  // raw bytes; filesize = contents.size()
};

struct post {
    id_t ticketpostid = 0;
    id_t ticketid = 0;
    std::int64_t dateline = 0;
    id_t userid = 0;
    std::string fullname;
    std::string email;
    std::string emailto;
    std::string ipaddress;
    int hasattachments = 0;
    int creator = 2;  // 1 staff, 2 user, 3 CC, 4 BCC, 5 third party
    int isthirdparty = 0;
    int ishtml = 0;
    int isemailed = 0;
    id_t staffid = 0;
    int issurveycomment = 0;
    std::string contents;
    int isprivate = 0;
};

// One stored value (customfieldvalues): text, or option ids for select-like fields.
struct custom_field_value {
    id_t customfieldid = 0;
    id_t ticketid = 0;
    std::string fieldvalue;
    std::vector<id_t> optionids;
};

struct ticket {
    id_t ticketid = 0;
    int flagtype = 0;
    std::string ticketmaskid;
    id_t departmentid = 0;  // 0 = trash
    id_t ticketstatusid = 0;
    id_t priorityid = 0;
    id_t tickettypeid = 0;
    id_t userid = 0;
    id_t ownerstaffid = 0;
    std::string ownerstaffname;
    std::string fullname;
    std::string email;
    std::string lastreplier;
    std::string subject;
    std::int64_t dateline = 0;
    std::int64_t lastactivity = 0;
    // lastactivity as seeded: seeded posts are spread up to it. Writes move lastactivity, and
    // must not move the datelines of posts that already exist.
    std::int64_t seeded_lastactivity = 0;
    std::int64_t laststaffreplytime = 0;
    std::int64_t lastuserreplytime = 0;
    id_t slaplanid = 0;
    std::int64_t duetime = 0;
    std::int64_t resolutionduedateline = 0;
    std::int64_t totalreplies = 0;
    std::string ipaddress;
    int creator = 2;
    int creationmode = 1;
    int tickettype = 1;  // 1 default, 2 phone (rendered as creationtype)
    int isescalated = 0;
    id_t escalationruleid = 0;
    id_t tgroupid = 1;
    std::string tags;  // space separated
    int isresolved = 0;
    std::int64_t resolutiondateline = 0;
    int hasattachments = 0;
    int hasnotes = 0;
    int hasfollowup = 0;
    int hasratings = 0;
    int islinked = 0;
    int iswatched = 0;
    std::vector<id_t> watcher_staffids;
    std::vector<id_t> workflowids;
    std::vector<ticket_note> notes;      // by dateline
    std::vector<time_track> timetracks;  // by dateline

    // Seeded children: posts [first_postid, first_postid + post_count), attachments likewise.
    id_t first_postid = 0;
    int post_count = 0;
    id_t first_attachmentid = 0;
    int attachment_count = 0;
    // Set once a write touched the children; then these are the truth instead of the seed.
    std::optional<std::vector<post>> posts;
    std::optional<std::vector<attachment>> attachments;
    std::optional<std::vector<custom_field_value>> custom_values;
};

struct custom_field_group {
    id_t customfieldgroupid = 0;
    std::string title;
    int grouptype = 3;  // 3 staff ticket, 4 user ticket, 9 staff & user ticket, 1 user, ...
    int visibilitytype = 1;
    int displayorder = 0;
    std::vector<id_t> departmentids;  // customfielddeplinks
};

struct custom_field {
    id_t customfieldid = 0;
    id_t customfieldgroupid = 0;
    std::string title;
    int fieldtype = 1;  // 1 text .. 11 file
    std::string fieldname;
    std::string defaultvalue;
    int isrequired = 0;
    int usereditable = 0;
    int staffeditable = 1;
    std::string regexpvalidate;
    int displayorder = 0;
    int encryptindb = 0;
    std::string description;
};

struct custom_field_option {
    id_t customfieldoptionid = 0;
    id_t customfieldid = 0;
    std::string optionvalue;
    int displayorder = 0;
    int isselected = 0;
    id_t parentcustomfieldoptionid = 0;
};

struct workflow {
    id_t ticketworkflowid = 0;
    std::string title;
};

struct template_group {
    id_t tgroupid = 0;
    std::string title;
};

// How many of each object the seed generates.
struct sizes {
    int tickets = 1000;
    int users = 500;
    int organizations = 50;
    int departments = 6;  // ticket departments; one livechat department is added on top
    int staff = 12;
    int staff_groups = 3;
    int trashed_percent = 3;  // of tickets
};

template <class T, class Key>
const T* find_by(const std::vector<T>& v, id_t id, Key key) {
    auto it = std::lower_bound(v.begin(), v.end(), id,
                               [&](const T& x, id_t want) { return x.*key < want; });
    return it != v.end() && (*it).*key == id ? &*it : nullptr;
}

class helpdesk {
public:
    // Deterministic from (seed, sizes): the same arguments give the same bytes on every run.
    static helpdesk generate(std::uint64_t seed, const sizes& s);

    std::uint64_t seed = 0;
    std::int64_t now = 0;       // the helpdesk clock (unix seconds)
    std::uint64_t version = 0;  // bumped by every write: invalidates cached sort orders

    std::vector<department> departments;
    std::vector<ticket_status> statuses;
    std::vector<ticket_priority> priorities;
    std::vector<ticket_type> types;
    std::vector<staff_group> staff_groups;
    std::vector<staff_member> staff;
    std::vector<user_group> user_groups;
    std::vector<organization> organizations;
    std::vector<user> users;
    std::vector<user_note> user_notes;  // by dateline
    std::vector<ticket> tickets;
    std::vector<custom_field_group> custom_field_groups;
    std::vector<custom_field> custom_fields;
    std::vector<custom_field_option> custom_field_options;
    std::vector<workflow> workflows;
    std::vector<template_group> template_groups;

    id_t next_ticketid = 1, next_postid = 1, next_attachmentid = 1, next_noteid = 1,
         next_timetrackid = 1, next_userid = 1, next_organizationid = 1, next_usernoteid = 1;

    const department* find_department(id_t id) const {
        return find_by(departments, id, &department::departmentid);
    }
    const ticket_status* find_status(id_t id) const {
        return find_by(statuses, id, &ticket_status::ticketstatusid);
    }
    const ticket_priority* find_priority(id_t id) const {
        return find_by(priorities, id, &ticket_priority::priorityid);
    }
    const ticket_type* find_type(id_t id) const {
        return find_by(types, id, &ticket_type::tickettypeid);
    }
    const staff_member* find_staff(id_t id) const {
        return find_by(staff, id, &staff_member::staffid);
    }
    const staff_group* find_staff_group(id_t id) const {
        return find_by(staff_groups, id, &staff_group::staffgroupid);
    }
    const user_group* find_user_group(id_t id) const {
        return find_by(user_groups, id, &user_group::usergroupid);
    }
    const organization* find_organization(id_t id) const {
        return find_by(organizations, id, &organization::userorganizationid);
    }
    const user* find_user(id_t id) const { return find_by(users, id, &user::userid); }
    const ticket* find_ticket(id_t id) const { return find_by(tickets, id, &ticket::ticketid); }
    ticket* find_ticket(id_t id) {
        return const_cast<ticket*>(std::as_const(*this).find_ticket(id));
    }
    const ticket* find_ticket_by_mask(std::string_view mask) const;
    const custom_field* find_custom_field(id_t id) const {
        return find_by(custom_fields, id, &custom_field::customfieldid);
    }
    const workflow* find_workflow(id_t id) const {
        return find_by(workflows, id, &workflow::ticketworkflowid);
    }
    const template_group* find_template_group(id_t id) const {
        return find_by(template_groups, id, &template_group::tgroupid);
    }

    // A ticket's posts by ticketpostid ascending and its attachments by id: the stored ones after
    // a write, otherwise regenerated from the seed (the same bytes on every call).
    std::vector<post> posts_of(const ticket& t) const;
    std::vector<attachment> attachments_of(const ticket& t) const;
    // The ticket's custom field values (customfieldvalues rows), by customfieldid.
    std::vector<custom_field_value> custom_values_of(const ticket& t) const;
};

}  // namespace ksync::emulator
