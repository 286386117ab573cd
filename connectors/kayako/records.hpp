#pragma once

// Plain record types for everything kayako-sync reads from Kayako Classic. Field names follow the
// XML element names of ../shared/kayako-api.md §4 (one struct per record type, same order), so a
// reader can check a struct against the spec line by line. Values are decoded, not interpreted:
// unix seconds stay integers (0 = none), 0/1 flags become bool, enumerations rendered as strings
// by Kayako (userrole, grouptype, type, ...) stay strings. Empty tags (`<x />`) and CDATA[0] both
// decode to 0 / false / "".
//
// This header is the contract between the protocol decoders (connectors/kayako), the emulator's
// conformance tests, the mirror (connectors/postgres) and the sync engine (daemon/sync).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ksync::kayako {

using id_t = std::int64_t;       // Kayako ids are INT(11) unsigned; int64 holds every one
using unix_time = std::int64_t;  // seconds since the epoch, GMT; 0 means "none"

// ---- Tickets/TicketPost (also <posts> inside a ticket) -------------------------------------
struct attachment {  // Tickets/TicketAttachment ListAll/Get; inline in TicketPost ListAll
    id_t id = 0;
    id_t ticketid = 0;
    id_t ticketpostid = 0;
    std::string filename;
    std::int64_t filesize = 0;
    std::string filetype;
    unix_time dateline = 0;
    std::optional<std::string> contents;  // base64, only on Get / inline post attachments

    friend bool operator==(const attachment&, const attachment&) = default;
};

struct post {
    id_t id = 0;
    id_t ticketpostid = 0;
    id_t ticketid = 0;
    unix_time dateline = 0;
    id_t userid = 0;
    std::string fullname;
    std::string email;
    std::string emailto;
    std::string ipaddress;
    bool hasattachments = false;
    int creator = 0;  // 1 staff, 2 user, 3 CC, 4 BCC, 5 third party
    bool isthirdparty = false;
    bool ishtml = false;
    bool isemailed = false;
    id_t staffid = 0;
    bool issurveycomment = false;
    std::string contents;
    bool isprivate = false;
    std::vector<attachment> attachments;  // TicketPost ListAll only, when hasattachments != 0

    friend bool operator==(const post&, const post&) = default;
};

// ---- Notes: <note> inside a ticket, and Tickets/TicketNote ListAll --------------------------
struct note {
    std::string type;  // "ticket", "user", "userorganization", "timetrack"
    id_t id = 0;
    id_t ticketid = 0;             // type ticket / timetrack
    id_t userid = 0;               // type user
    id_t userorganizationid = 0;   // type userorganization
    int notecolor = 0;
    id_t creatorstaffid = 0;
    id_t forstaffid = 0;
    std::string creatorstaffname;
    unix_time creationdate = 0;
    // type timetrack only
    std::int64_t timeworked = 0;    // seconds
    std::int64_t timebillable = 0;  // seconds
    unix_time billdate = 0;
    unix_time workdate = 0;
    id_t workerstaffid = 0;
    std::string workerstaffname;
    std::string contents;  // the element's text

    friend bool operator==(const note&, const note&) = default;
};

struct watcher {
    id_t staffid = 0;
    std::string name;

    friend bool operator==(const watcher&, const watcher&) = default;
};

struct workflow {
    id_t id = 0;
    std::string title;

    friend bool operator==(const workflow&, const workflow&) = default;
};

// ---- Tickets/Ticket ---------------------------------------------------------------------
struct ticket {
    id_t id = 0;        // ticket@id: always key on this, never on displayid
    int flagtype = 0;   // ticket@flagtype, 0 = none
    std::string displayid;  // numeric id, or a mask such as ABC-123-45678
    id_t departmentid = 0;  // 0 = trash
    id_t statusid = 0;
    id_t priorityid = 0;
    id_t tickettypeid = 0;  // the <typeid> element (typeid is a C++ keyword)
    id_t userid = 0;
    std::string userorganization;
    id_t userorganizationid = 0;
    id_t ownerstaffid = 0;
    std::string ownerstaffname;
    std::string fullname;
    std::string email;
    std::string lastreplier;
    std::string subject;
    unix_time creationtime = 0;
    unix_time lastactivity = 0;
    unix_time laststaffreply = 0;
    unix_time lastuserreply = 0;
    id_t slaplanid = 0;
    unix_time nextreplydue = 0;
    unix_time resolutiondue = 0;
    std::int64_t replies = 0;
    std::string ipaddress;
    int creator = 0;       // 1 staff, 2 user
    int creationmode = 0;  // 1 support centre .. 7 staff API
    int creationtype = 0;  // 1 default/email, 2 phone
    bool isescalated = false;
    id_t escalationruleid = 0;
    id_t templategroupid = 0;
    std::string tags;  // space-separated
    std::optional<std::string> templategroupname;
    std::vector<watcher> watchers;
    std::vector<workflow> workflows;
    std::vector<note> notes;
    std::optional<std::vector<post>> posts;  // present on Get/Post/Put/TicketSearch, absent on ListAll

    friend bool operator==(const ticket&, const ticket&) = default;
};

// ---- Tickets/TicketTimeTrack ---------------------------------------------------------------
struct time_track {
    id_t id = 0;
    id_t ticketid = 0;
    std::int64_t timeworked = 0;
    std::int64_t timebillable = 0;
    unix_time billdate = 0;
    unix_time workdate = 0;
    id_t workerstaffid = 0;
    std::string workerstaffname;
    id_t creatorstaffid = 0;
    std::string creatorstaffname;
    int notecolor = 0;
    std::string contents;

    friend bool operator==(const time_track&, const time_track&) = default;
};

// ---- Tickets/TicketCustomField (values of one ticket) ---------------------------------------
struct custom_field_value {
    id_t id = 0;
    std::string title;
    int type = 0;      // fieldtype: 1 text .. 11 file
    std::string name;  // fieldname, the key for POST
    std::optional<std::string> filename;
    std::string value;  // rendered text (option titles, ", "-joined, "&gt;" literal for linked select)

    friend bool operator==(const custom_field_value&, const custom_field_value&) = default;
};

struct custom_field_group {
    id_t id = 0;
    std::string title;
    int displayorder = 0;
    std::vector<custom_field_value> fields;

    friend bool operator==(const custom_field_group&, const custom_field_group&) = default;
};

struct ticket_custom_fields {
    id_t ticketid = 0;  // from the request, not the XML
    std::vector<custom_field_group> groups;

    friend bool operator==(const ticket_custom_fields&, const ticket_custom_fields&) = default;
};

// ---- Base/CustomField (definitions) and ListOptions -----------------------------------------
struct custom_field_definition {
    id_t customfieldid = 0;
    id_t customfieldgroupid = 0;
    std::string title;
    int fieldtype = 0;
    std::string fieldname;
    std::string defaultvalue;
    bool isrequired = false;
    bool usereditable = false;
    bool staffeditable = false;
    std::string regexpvalidate;
    int displayorder = 0;
    bool encryptindb = false;
    std::string description;
    int grouptype = 0;

    friend bool operator==(const custom_field_definition&, const custom_field_definition&) = default;
};

struct custom_field_option {
    id_t customfieldoptionid = 0;
    id_t customfieldid = 0;
    std::string optionvalue;
    int displayorder = 0;
    bool isselected = false;
    id_t parentcustomfieldoptionid = 0;

    friend bool operator==(const custom_field_option&, const custom_field_option&) = default;
};

// ---- Tickets/TicketCount ---------------------------------------------------------------------
struct ticket_count_bucket {  // <ticketstatus/>, <tickettype/>, <ownerstaff/>, <department/>
    id_t id = 0;
    unix_time lastactivity = 0;
    std::int64_t totalitems = 0;
    std::int64_t totalunresolveditems = 0;

    friend bool operator==(const ticket_count_bucket&, const ticket_count_bucket&) = default;
};

struct ticket_count_department {
    id_t id = 0;
    std::int64_t totalitems = 0;
    unix_time lastactivity = 0;
    std::int64_t totalunresolveditems = 0;
    std::vector<ticket_count_bucket> statuses;
    std::vector<ticket_count_bucket> types;
    std::vector<ticket_count_bucket> owners;

    friend bool operator==(const ticket_count_department&, const ticket_count_department&) = default;
};

struct ticket_count {
    std::vector<ticket_count_department> departments;
    std::vector<ticket_count_bucket> statuses;
    std::vector<ticket_count_bucket> owners;
    std::vector<ticket_count_bucket> unassigned;

    friend bool operator==(const ticket_count&, const ticket_count&) = default;
};

// ---- Base/User ---------------------------------------------------------------------------
struct user {
    id_t id = 0;
    id_t usergroupid = 0;
    std::string userrole;  // "user" | "manager"
    id_t userorganizationid = 0;
    std::string salutation;
    unix_time userexpiry = 0;
    std::string fullname;
    std::vector<std::string> emails;  // one <email> element per address, in order
    std::string designation;
    std::string phone;
    unix_time dateline = 0;
    unix_time lastvisit = 0;
    bool isenabled = false;
    std::string timezone;
    bool enabledst = false;
    id_t slaplanid = 0;
    unix_time slaplanexpiry = 0;

    friend bool operator==(const user&, const user&) = default;
};

// ---- Base/UserOrganization ---------------------------------------------------------------
struct organization {
    id_t id = 0;
    std::string name;
    std::string organizationtype;  // "restricted" | "shared"
    std::string address;
    std::string city;
    std::string state;
    std::string postalcode;
    std::string country;
    std::string phone;
    std::string fax;
    std::string website;
    unix_time dateline = 0;
    unix_time lastupdate = 0;  // a real modification time: set on every update
    id_t slaplanid = 0;
    unix_time slaplanexpiry = 0;

    friend bool operator==(const organization&, const organization&) = default;
};

// ---- Lookups -----------------------------------------------------------------------------
struct user_group {
    id_t id = 0;
    std::string title;
    std::string grouptype;  // "guest" | "registered"
    bool ismaster = false;

    friend bool operator==(const user_group&, const user_group&) = default;
};

struct staff {
    id_t id = 0;
    id_t staffgroupid = 0;
    std::string firstname;
    std::string lastname;
    std::string fullname;
    std::string username;
    std::string email;
    std::string designation;
    std::string greeting;
    std::string mobilenumber;
    bool isenabled = false;
    std::string timezone;
    bool enabledst = false;
    std::string signature;

    friend bool operator==(const staff&, const staff&) = default;
};

struct staff_group {
    id_t id = 0;
    std::string title;
    bool isadmin = false;

    friend bool operator==(const staff_group&, const staff_group&) = default;
};

struct department {
    id_t id = 0;
    std::string title;
    std::string type;    // "public" | "private"
    std::string module;  // "tickets" | "livechat"
    std::string app;     // same value as module
    int displayorder = 0;
    id_t parentdepartmentid = 0;
    bool uservisibilitycustom = false;
    std::vector<id_t> usergroups;

    friend bool operator==(const department&, const department&) = default;
};

struct ticket_status {
    id_t id = 0;
    std::string title;
    int displayorder = 0;
    id_t departmentid = 0;
    std::string displayicon;
    std::string type;  // "public" | "private"
    bool displayinmainlist = false;
    bool markasresolved = false;
    bool displaycount = false;
    std::string statuscolor;
    std::string statusbgcolor;
    bool resetduetime = false;
    bool triggersurvey = false;
    bool staffvisibilitycustom = false;
    std::vector<id_t> staffgroupids;

    friend bool operator==(const ticket_status&, const ticket_status&) = default;
};

struct ticket_priority {
    id_t id = 0;
    std::string title;
    int displayorder = 0;
    std::string frcolorcode;
    std::string bgcolorcode;
    std::string type;
    bool uservisibilitycustom = false;
    std::vector<id_t> usergroupids;

    friend bool operator==(const ticket_priority&, const ticket_priority&) = default;
};

struct ticket_type {
    id_t id = 0;
    std::string title;
    int displayorder = 0;
    id_t departmentid = 0;
    std::string displayicon;
    std::string type;
    bool uservisibilitycustom = false;
    std::vector<id_t> usergroupids;

    friend bool operator==(const ticket_type&, const ticket_type&) = default;
};

}  // namespace ksync::kayako
