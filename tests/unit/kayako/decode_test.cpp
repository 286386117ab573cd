// Every decoder on its hand-written fixture (tests/fixtures/kayako/), checking every field.
#include "connectors/kayako/decode.hpp"

#include <gtest/gtest.h>

#include "tests/unit/kayako/fixtures.hpp"

namespace {

using namespace ksync::kayako;
using ksync::test::kayako_fixture;

TEST(kayako_decode, ticket_list_every_field_of_the_first_ticket) {
    const auto tickets = parse_tickets(kayako_fixture("tickets-list.xml"));
    ASSERT_EQ(tickets.size(), 3u);
    const ticket& t = tickets[0];
    EXPECT_EQ(t.id, 1001);
    EXPECT_EQ(t.flagtype, 3);
    EXPECT_EQ(t.displayid, "1001");
    EXPECT_EQ(t.departmentid, 2);
    EXPECT_EQ(t.statusid, 1);
    EXPECT_EQ(t.priorityid, 3);
    EXPECT_EQ(t.tickettypeid, 2);
    EXPECT_EQ(t.userid, 17);
    EXPECT_EQ(t.userorganization, "");
    EXPECT_EQ(t.userorganizationid, 0);  // PHP 7 form: <userorganizationid />
    EXPECT_EQ(t.ownerstaffid, 4);
    EXPECT_EQ(t.ownerstaffname, "Dana Staff");
    EXPECT_EQ(t.fullname, "Zo\xC3\xAB \xC3\x9Cnicode");
    EXPECT_EQ(t.email, "zoe@example.com");
    EXPECT_EQ(t.lastreplier, "Dana Staff");
    // 4-byte UTF-8 (U+1F600) and markup characters inside CDATA arrive untouched.
    EXPECT_EQ(t.subject, "Printer \xF0\x9F\x98\x80 on fire & <smoking> \"again\"");
    EXPECT_EQ(t.creationtime, 1700000000);
    EXPECT_EQ(t.lastactivity, 1700003600);
    EXPECT_EQ(t.laststaffreply, 1700003600);
    EXPECT_EQ(t.lastuserreply, 1700000000);
    EXPECT_EQ(t.slaplanid, 0);
    EXPECT_EQ(t.nextreplydue, 1700086400);
    EXPECT_EQ(t.resolutiondue, 0);
    EXPECT_EQ(t.replies, 2);
    EXPECT_EQ(t.ipaddress, "203.0.113.9");
    EXPECT_EQ(t.creator, 2);
    EXPECT_EQ(t.creationmode, 3);
    EXPECT_EQ(t.creationtype, 1);
    EXPECT_FALSE(t.isescalated);
    EXPECT_EQ(t.escalationruleid, 0);
    EXPECT_EQ(t.templategroupid, 1);
    EXPECT_EQ(t.tags, "billing urgent");
    EXPECT_EQ(t.templategroupname, std::optional<std::string>("Default"));
    EXPECT_EQ(t.watchers, (std::vector<watcher>{{4, "Dana Staff"}, {9, "O'Brien & Sons \"QA\""}}));
    EXPECT_EQ(t.workflows, (std::vector<workflow>{{12, "Escalate > Tier 2"}}));
    EXPECT_FALSE(t.posts.has_value()) << "ListAll tickets carry no <posts>";
}

TEST(kayako_decode, ticket_notes_of_all_four_types) {
    const auto tickets = parse_tickets(kayako_fixture("tickets-list.xml"));
    ASSERT_EQ(tickets.size(), 3u);
    const auto& notes = tickets[0].notes;
    ASSERT_EQ(notes.size(), 5u);

    note ticket_note;
    ticket_note.type = "ticket";
    ticket_note.id = 501;
    ticket_note.ticketid = 1001;
    ticket_note.notecolor = 1;
    ticket_note.creatorstaffid = 4;
    ticket_note.forstaffid = 9;
    ticket_note.creatorstaffname = "Dana Staff";
    ticket_note.creationdate = 1700001000;
    // "]]>" is split by Kayako into two adjacent CDATA sections; joined back here.
    ticket_note.contents = "Called the customer, the ]]> marker stays.\nSecond line \xF0\x9F\x98\x80";
    EXPECT_EQ(notes[0], ticket_note);

    note user_note;
    user_note.type = "user";
    user_note.id = 77;
    user_note.userid = 17;
    user_note.notecolor = 2;
    user_note.creatorstaffid = 4;
    user_note.creatorstaffname = "Dana Staff";
    user_note.creationdate = 1690000000;
    user_note.contents = "VIP customer";
    EXPECT_EQ(notes[1], user_note);

    note org_note;
    org_note.type = "userorganization";
    org_note.id = 78;
    org_note.userorganizationid = 5;
    org_note.notecolor = 3;
    org_note.creatorstaffid = 9;
    org_note.creatorstaffname = "O'Brien";
    org_note.creationdate = 1690000100;
    org_note.contents = "Pays late";
    EXPECT_EQ(notes[2], org_note);

    note tt;
    tt.type = "timetrack";
    tt.id = 301;
    tt.ticketid = 1001;
    tt.timeworked = 5400;
    tt.timebillable = 3600;
    tt.billdate = 1700002000;
    tt.workdate = 1700001900;
    tt.workerstaffid = 9;
    tt.workerstaffname = "O'Brien";
    tt.creatorstaffid = 4;
    tt.creatorstaffname = "Dana Staff";
    tt.notecolor = 4;
    tt.contents = "Replaced the fuser";
    EXPECT_EQ(notes[3], tt);

    EXPECT_EQ(notes[4].id, 502);
    EXPECT_EQ(notes[4].contents, "");  // <note … /> with no text
}

TEST(kayako_decode, ticket_list_both_zero_forms_mask_id_and_optional_parts) {
    const auto tickets = parse_tickets(kayako_fixture("tickets-list.xml"));
    ASSERT_EQ(tickets.size(), 3u);
    const ticket& t = tickets[1];
    EXPECT_EQ(t.id, 1002);
    EXPECT_EQ(t.displayid, "ABC-123-45678");
    EXPECT_EQ(t.departmentid, 0);         // trash
    EXPECT_EQ(t.userorganizationid, 0);   // PHP 8 form: CDATA[0]
    EXPECT_EQ(t.ownerstaffname, "");
    EXPECT_EQ(t.ipaddress, "");
    EXPECT_TRUE(t.isescalated);
    EXPECT_EQ(t.escalationruleid, 6);
    EXPECT_EQ(t.creationtype, 2);
    EXPECT_EQ(t.tags, "");
    EXPECT_FALSE(t.templategroupname.has_value());
    EXPECT_TRUE(t.watchers.empty());
    EXPECT_TRUE(t.workflows.empty());
    EXPECT_TRUE(t.notes.empty());

    const ticket& u = tickets[2];
    EXPECT_EQ(u.userorganization, "Smith & Jones <Ltd>");
    EXPECT_EQ(u.userorganizationid, 5);
    EXPECT_EQ(u.subject, "\xE4\xB8\xAD\xE6\x96\x87 subject");
    EXPECT_EQ(u.ipaddress, "2001:db8::1");
    EXPECT_EQ(u.workflows, (std::vector<workflow>{{12, "Escalate > Tier 2"}, {13, "Close"}}));
}

TEST(kayako_decode, ticket_get_with_posts) {
    const auto tickets = parse_tickets(kayako_fixture("ticket-with-posts.xml"));
    ASSERT_EQ(tickets.size(), 1u);
    ASSERT_TRUE(tickets[0].posts.has_value());
    const auto& posts = *tickets[0].posts;
    ASSERT_EQ(posts.size(), 2u);

    post first;
    first.id = 2001;
    first.ticketpostid = 2001;
    first.ticketid = 1003;
    first.dateline = 1700000100;
    first.userid = 19;
    first.fullname = "Ann Smith";
    first.email = "ann@smith.example";
    first.ipaddress = "2001:db8::1";
    first.creator = 2;
    first.isemailed = true;
    first.contents = "Hello,\nmy printer says \"]]>\" and   then stops.\n\xF0\x9F\x98\x80";
    EXPECT_EQ(posts[0], first);

    post second;
    second.id = 2002;
    second.ticketpostid = 2002;
    second.ticketid = 1003;
    second.dateline = 1700000200;
    second.fullname = "O'Brien";
    second.email = "obrien@help.example";
    second.emailto = "ann@smith.example";
    second.hasattachments = true;
    second.creator = 1;
    second.ishtml = true;
    second.staffid = 9;
    second.contents = "<p>Please try <b>this</b> &amp; report back.</p>";  // CDATA: no unescaping
    second.isprivate = true;
    EXPECT_EQ(posts[1], second);
}

TEST(kayako_decode, captured_real_response) {
    const auto tickets = parse_tickets(kayako_fixture("ticket-captured-pretty.xml"));
    ASSERT_EQ(tickets.size(), 1u);
    const ticket& t = tickets[0];
    EXPECT_EQ(t.id, 49);
    EXPECT_EQ(t.flagtype, 0);
    EXPECT_EQ(t.displayid, "OKE-160-11260");
    EXPECT_EQ(t.departmentid, 3);
    EXPECT_EQ(t.statusid, 3);
    EXPECT_EQ(t.priorityid, 1);
    EXPECT_EQ(t.tickettypeid, 1);
    EXPECT_EQ(t.userid, 12);
    EXPECT_EQ(t.userorganizationid, 0);
    EXPECT_EQ(t.ownerstaffid, 2);
    EXPECT_EQ(t.ownerstaffname, "Chris H");
    EXPECT_EQ(t.email, "cjhowsonfake@gmail.com");
    EXPECT_EQ(t.subject, "Close this ticket");
    EXPECT_EQ(t.creationtime, 1389796642);
    EXPECT_EQ(t.laststaffreply, 0);
    EXPECT_EQ(t.ipaddress, "212.124.236.1");
    EXPECT_EQ(t.creationmode, 2);
    EXPECT_EQ(t.templategroupid, 1);
    EXPECT_EQ(t.tags, "tag");
    EXPECT_EQ(t.templategroupname, std::optional<std::string>("Default"));
    ASSERT_TRUE(t.posts.has_value());
    ASSERT_EQ(t.posts->size(), 1u);
    const post& p = t.posts->front();
    EXPECT_EQ(p.id, 59);
    EXPECT_EQ(p.ticketid, 49);
    EXPECT_EQ(p.emailto, "");
    EXPECT_EQ(p.creator, 2);
    // The pretty-printer's indentation around the CDATA is not part of the value; the CDATA's
    // own line breaks and trailing spaces are.
    EXPECT_EQ(p.contents.rfind("Introduction \n\nBASICS\n", 0), 0u) << p.contents.substr(0, 40);
    EXPECT_EQ(p.contents.substr(p.contents.size() - 7), "Macros.");
    EXPECT_FALSE(p.isprivate);
}

TEST(kayako_decode, post_list_with_inline_attachments) {
    const auto posts = parse_posts(kayako_fixture("posts-with-attachments.xml"));
    ASSERT_EQ(posts.size(), 2u);
    ASSERT_EQ(posts[0].attachments.size(), 2u);
    attachment a;
    a.id = 801;
    a.ticketid = 1003;      // filled from the post: inline attachments have no ids of their own
    a.ticketpostid = 2002;
    a.filename = "log.txt";
    a.filesize = 11;
    a.filetype = "text/plain";
    a.dateline = 1700000200;
    a.contents = "aGVsbG8gd29ybGQ=";
    EXPECT_EQ(posts[0].attachments[0], a);
    EXPECT_EQ(posts[0].attachments[1].id, 802);
    EXPECT_EQ(posts[0].attachments[1].contents, std::optional<std::string>(""));
    EXPECT_TRUE(posts[1].attachments.empty());
    EXPECT_EQ(posts[1].ipaddress, "198.51.100.7");
}

TEST(kayako_decode, note_list) {
    const auto notes = parse_notes(kayako_fixture("notes.xml"));
    ASSERT_EQ(notes.size(), 2u);
    EXPECT_EQ(notes[0].id, 502);
    EXPECT_EQ(notes[0].contents, "");
    EXPECT_EQ(notes[1].id, 501);
    EXPECT_EQ(notes[1].notecolor, 5);
    EXPECT_EQ(notes[1].forstaffid, 9);
    EXPECT_EQ(notes[1].creatorstaffname, "Dana & Co");
    EXPECT_EQ(notes[1].contents, "Line one\nLine two");
}

TEST(kayako_decode, time_tracks_attributes_and_text) {
    const auto tracks = parse_time_tracks(kayako_fixture("timetracks.xml"));
    ASSERT_EQ(tracks.size(), 2u);
    time_track t;
    t.id = 301;
    t.ticketid = 1001;
    t.timeworked = 5400;
    t.timebillable = 3600;
    t.billdate = 1700002000;
    t.workdate = 1700001900;
    t.workerstaffid = 9;
    t.workerstaffname = "O'Brien";
    t.creatorstaffid = 4;
    t.creatorstaffname = "Dana Staff";
    t.notecolor = 4;
    t.contents = "Replaced the fuser";
    EXPECT_EQ(tracks[0], t);
    EXPECT_EQ(tracks[1].timebillable, 0);
    EXPECT_EQ(tracks[1].contents, "");
}

TEST(kayako_decode, attachment_list_and_get) {
    const auto list = parse_attachments(kayako_fixture("attachments.xml"));
    ASSERT_EQ(list.size(), 2u);
    attachment b;
    b.id = 803;
    b.ticketid = 1003;
    b.ticketpostid = 2004;
    b.filename = "Rechnung M\xC3\xA4rz.pdf";
    b.filesize = 5242880;
    b.filetype = "application/pdf";
    b.dateline = 1700000400;
    EXPECT_EQ(list[1], b);
    EXPECT_FALSE(list[0].contents.has_value()) << "ListAll carries metadata only";
    const auto got = parse_attachments(kayako_fixture("attachment-get.xml"));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].contents, std::optional<std::string>("aGVsbG8gd29ybGQ="));
}

TEST(kayako_decode, users_with_several_emails_and_both_zero_forms) {
    const auto users = parse_users(kayako_fixture("users.xml"));
    ASSERT_EQ(users.size(), 3u);
    user z;
    z.id = 17;
    z.usergroupid = 2;
    z.userrole = "manager";
    z.userorganizationid = 0;
    z.salutation = "Ms.";
    z.fullname = "Zo\xC3\xAB \xC3\x9Cnicode";
    z.emails = {"zoe@example.com", "zoe.private@example.org", "zo\xC3\xAB@b\xC3\xBC" "cher.example"};
    z.designation = "CTO";
    z.phone = "+49 30 1234567";
    z.dateline = 1500000000;
    z.lastvisit = 1700000000;
    z.isenabled = true;
    z.timezone = "Europe/Berlin";
    z.enabledst = true;
    EXPECT_EQ(users[0], z);

    EXPECT_EQ(users[1].userorganizationid, 0);  // CDATA[0]
    EXPECT_EQ(users[1].emails, std::vector<std::string>{"plain@example.com"});
    EXPECT_EQ(users[1].userexpiry, 1800000000);
    EXPECT_FALSE(users[1].isenabled);
    EXPECT_EQ(users[1].slaplanid, 1);
    EXPECT_EQ(users[1].slaplanexpiry, 1900000000);
    EXPECT_TRUE(users[2].emails.empty());
    EXPECT_EQ(users[2].userorganizationid, 5);
}

TEST(kayako_decode, organizations_with_xml_comments_between_fields) {
    const auto orgs = parse_organizations(kayako_fixture("userorganizations.xml"));
    ASSERT_EQ(orgs.size(), 2u);
    organization o;
    o.id = 5;
    o.name = "Smith & Jones <Ltd>";
    o.organizationtype = "shared";
    o.address = "1 Main Street\nFloor 2";
    o.city = "Springfield";
    o.state = "IL";
    o.postalcode = "62701";
    o.country = "United States";
    o.phone = "+1 217 555 0100";
    o.website = "https://smith.example";
    o.dateline = 1400000000;
    o.lastupdate = 1700000300;
    o.slaplanid = 2;
    EXPECT_EQ(orgs[0], o);
    EXPECT_EQ(orgs[1].organizationtype, "restricted");
    EXPECT_EQ(orgs[1].address, "");
    EXPECT_EQ(orgs[1].lastupdate, 1400000100);
}

TEST(kayako_decode, user_groups_staff_and_staff_groups) {
    EXPECT_EQ(parse_user_groups(kayako_fixture("usergroups.xml")),
              (std::vector<user_group>{{1, "Guest", "guest", true},
                                       {2, "Registered", "registered", true},
                                       {3, "Partners", "registered", false}}));
    EXPECT_EQ(parse_staff_groups(kayako_fixture("staffgroups.xml")),
              (std::vector<staff_group>{{1, "Administrator", true}, {2, "Staff", false}}));
    const auto staff_list = parse_staff(kayako_fixture("staffusers.xml"));
    ASSERT_EQ(staff_list.size(), 2u);
    staff d;
    d.id = 4;
    d.staffgroupid = 1;
    d.firstname = "Dana";
    d.lastname = "Staff";
    d.fullname = "Dana Staff";
    d.username = "dana";
    d.email = "dana@help.example";
    d.designation = "Support Lead";
    d.greeting = "Hi there,";
    d.isenabled = true;
    d.timezone = "UTC";
    d.signature = "--\nDana";
    EXPECT_EQ(staff_list[0], d);
    EXPECT_EQ(staff_list[1].mobilenumber, "+353 1 555 0199");
    EXPECT_FALSE(staff_list[1].isenabled);
    EXPECT_TRUE(staff_list[1].enabledst);
}

TEST(kayako_decode, departments_with_their_user_groups) {
    const auto deps = parse_departments(kayako_fixture("departments.xml"));
    ASSERT_EQ(deps.size(), 3u);
    EXPECT_EQ(deps[0], (department{2, "Support", "public", "tickets", "tickets", 1, 0, true, {2, 3}}));
    EXPECT_EQ(deps[1], (department{3, "Billing", "private", "tickets", "tickets", 2, 2, false, {}}));
    EXPECT_EQ(deps[2].module, "livechat");
    EXPECT_EQ(deps[2].app, "livechat");
}

TEST(kayako_decode, statuses_priorities_and_types) {
    const auto statuses = parse_ticket_statuses(kayako_fixture("ticketstatuses.xml"));
    ASSERT_EQ(statuses.size(), 2u);
    EXPECT_EQ(statuses[0].title, "Open");
    EXPECT_EQ(statuses[0].displayicon, "{$themepath}icon_ticketstatusopen.png");
    EXPECT_TRUE(statuses[0].displayinmainlist);
    EXPECT_TRUE(statuses[0].staffgroupids.empty());
    ticket_status closed{3,         "Closed",   3,    2,    "{$themepath}icon_ticketstatusclosed.png",
                         "private", false,      true, false, "#5f5f5f",
                         "#5f5f5f", true,       true, true, {1, 2}};
    EXPECT_EQ(statuses[1], closed);

    EXPECT_EQ(parse_ticket_priorities(kayako_fixture("ticketpriorities.xml")),
              (std::vector<ticket_priority>{{1, "Normal", 1, "#000000", "", "public", false, {}},
                                            {3, "Critical", 3, "#ffffff", "#cc0000", "private", true, {2, 3}}}));
    EXPECT_EQ(parse_ticket_types(kayako_fixture("tickettypes.xml")),
              (std::vector<ticket_type>{{1, "Issue", 1, 0, "{$themepath}icon_typeissue.png", "public", false, {}},
                                        {2, "Task", 2, 2, "", "private", true, {3}}}));
}

TEST(kayako_decode, custom_field_definitions_and_options_from_attributes) {
    const auto defs = parse_custom_field_definitions(kayako_fixture("customfields.xml"));
    ASSERT_EQ(defs.size(), 2u);
    custom_field_definition serial{1, 1, "Serial number", 1, "serial", "", true, true, true,
                                   "^[A-Z]{2}[0-9]+$", 1, false, "On the back & \"under\" the lid", 4};
    EXPECT_EQ(defs[0], serial);
    EXPECT_EQ(defs[1].defaultvalue, "3");
    EXPECT_FALSE(defs[1].usereditable);
    EXPECT_TRUE(defs[1].encryptindb);
    EXPECT_EQ(defs[1].grouptype, 9);

    EXPECT_EQ(parse_custom_field_options(kayako_fixture("customfieldoptions.xml")),
              (std::vector<custom_field_option>{{3, 2, "Printer", 1, true, 0},
                                                {4, 2, "Scanner & Copier", 2, false, 0},
                                                {5, 2, "Laser", 1, false, 3}}));
}

TEST(kayako_decode, ticket_custom_field_values) {
    const ticket_custom_fields cf = parse_ticket_custom_fields(kayako_fixture("ticket-customfields.xml"), 1003);
    EXPECT_EQ(cf.ticketid, 1003);
    ASSERT_EQ(cf.groups.size(), 2u);
    EXPECT_EQ(cf.groups[0].id, 1);
    EXPECT_EQ(cf.groups[0].title, "Device");
    EXPECT_EQ(cf.groups[0].displayorder, 1);
    ASSERT_EQ(cf.groups[0].fields.size(), 4u);
    EXPECT_EQ(cf.groups[0].fields[0], (custom_field_value{1, "Serial number", 1, "serial", std::nullopt, "AB12345"}));
    // Linked select: the literal text "&gt;" sits inside CDATA and must stay "&gt;".
    EXPECT_EQ(cf.groups[0].fields[1].value, "Printer &gt; Laser");
    EXPECT_EQ(cf.groups[0].fields[2].value, "Red, Green\\, dark, Blue");
    EXPECT_EQ(cf.groups[0].fields[3].value, "");
    EXPECT_EQ(cf.groups[1].fields[0],
              (custom_field_value{8, "Receipt", 11, "receipt", std::string("receipt & tax.pdf"), "JVBERi0xLjQK"}));
}

TEST(kayako_decode, ticket_count) {
    const ticket_count c = parse_ticket_count(kayako_fixture("ticketcount.xml"));
    ASSERT_EQ(c.departments.size(), 2u);
    const auto& d = c.departments[0];
    EXPECT_EQ(d.id, 2);
    EXPECT_EQ(d.totalitems, 12);
    EXPECT_EQ(d.lastactivity, 1700003600);
    EXPECT_EQ(d.totalunresolveditems, 5);
    EXPECT_EQ(d.statuses, (std::vector<ticket_count_bucket>{{1, 1700003600, 5, 0}, {3, 1690000000, 7, 0}}));
    EXPECT_EQ(d.types, (std::vector<ticket_count_bucket>{{1, 1700003600, 10, 4}}));
    EXPECT_EQ(d.owners, (std::vector<ticket_count_bucket>{{0, 1700000100, 2, 2}, {4, 1700003600, 10, 3}}));
    EXPECT_EQ(c.departments[1], (ticket_count_department{3, 0, 0, 0, {}, {}, {}}));
    EXPECT_EQ(c.statuses, d.statuses);
    EXPECT_EQ(c.owners, d.owners);
    EXPECT_EQ(c.unassigned, (std::vector<ticket_count_bucket>{{2, 1700000100, 2, 2}}));
}

TEST(kayako_decode, streaming_api_delivers_records_in_order) {
    std::vector<std::int64_t> ids;
    decode_tickets(kayako_fixture("tickets-list.xml"), [&](ticket&& t) { ids.push_back(t.id); });
    EXPECT_EQ(ids, (std::vector<std::int64_t>{1001, 1002, 1003}));
    std::vector<std::int64_t> user_ids;
    decode_users(kayako_fixture("users.xml"), [&](user&& u) { user_ids.push_back(u.id); });
    EXPECT_EQ(user_ids, (std::vector<std::int64_t>{17, 18, 19}));
}

}  // namespace
