#!/usr/bin/env python3
"""Peak RSS and requests of the slow streams (full user scan, reconciler) and of a quiet cycle on a
large mirror, without the hours a full backfill takes (issue 14, goals 2 and 3).

Run by hand after scripts/lib/pg.sh's pg_start (KSYNC_TEST_PG_DSN, PG_DIR):
  python3 tests/bench/bench_slow_streams.py --build build/X --tickets 1000000 [--users N]

The mirror is filled as follows: lookups and organizations by `once --stream lookups
--stream organizations`; users by the full user scan itself (`once --stream users`, the
first run is a full scan: 1 Filter page per 1000 users); tickets by COPYing, into
kayako.tickets, the id, department, status and lastactivity that the emulator's ListAll pages
list (10,000 per request), with placeholder values elsewhere, and a ticket cursor that says the
backfill is complete. No ticket is fetched with a Get: the reconciler then finds every ticket
known with the same lastactivity. Its first run rewrites every placeholder row (1 update and 1
feed row per ticket); the second is the quiet run whose cost is the daemon's steady state.
Measured with /usr/bin/time (peak RSS) and the emulator's request log; nothing fails on a goal.
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import io
import json
import os
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_sync as B  # noqa: E402


def signed(path, salt="benchsalt"):
    sig = base64.b64encode(hmac.new(B.SECRET.encode(), salt.encode(), hashlib.sha256).digest())
    from urllib.parse import quote
    return (f"/api/index.php?{path}&apikey={quote(B.APIKEY)}&salt={salt}"
            f"&signature={quote(sig.decode())}")


def list_tickets(emu, departments, statuses, per_page=10000):
    """(id, departmentid, statusid, lastactivity) of every listed ticket, by ticket id."""
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=600)
    start = 0
    while True:
        path = (f"/Tickets/Ticket/ListAll/{departments}/{statuses}/-1/-1/{per_page}/{start}"
                "/ticketid/ASC")
        conn.request("GET", signed(path))
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError(f"ListAll: {r.status} {data[:200]!r}")
        n = 0
        for _, el in ET.iterparse(io.BytesIO(data)):
            if el.tag == "ticket":
                n += 1
                yield (int(el.get("id")), int(el.findtext("departmentid")),
                       int(el.findtext("statusid")), int(el.findtext("lastactivity") or 0))
                el.clear()
        if n < per_page:
            break
        start += per_page
    conn.close()


def fill_tickets(site, emu):
    depts = ",".join(r[0] for r in site.pg.rows("SELECT id FROM kayako.departments ORDER BY id"))
    stats = ",".join(r[0] for r in site.pg.rows("SELECT id FROM kayako.ticket_statuses ORDER BY id"))
    newest = 0
    with tempfile.NamedTemporaryFile("w", suffix=".copy", delete=False) as f:
        path = f.name
        n = 0
        for listing in (depts, "0"):
            for tid, dept, status, la in list_tickets(emu, listing, stats):
                newest = max(newest, la)
                f.write(f"{tid}\t{tid}\t0\t{dept}\t{status}\t1\t1\t1\t\t0\t0\t\t\t\t\tplaceholder\t"
                        f"\\N\t{la}\t0\t\\N\t\\N\t0\t0\t\\\\x00\t1\n")
                n += 1
    os.chmod(path, 0o644)
    B.log(f"  {n} tickets listed; COPY into kayako.tickets")
    site.pg.script([
        "SET kayako_sync.writer = 'daemon';",
        "CREATE TEMP TABLE t (id bigint, display_id text, flag_type int, department_id bigint,"
        " status_id bigint, priority_id bigint, type_id bigint, user_id bigint,"
        " user_organization text, user_organization_id bigint, owner_staff_id bigint,"
        " owner_staff_name text, full_name text, email text, last_replier text, subject text,"
        " created_at timestamptz, la bigint, sla_plan_id bigint, next_reply_due_at timestamptz,"
        " resolution_due_at timestamptz, replies bigint, creator smallint, content_hash bytea,"
        " version bigint);",
        f"\\copy t FROM '{path}'",
        "INSERT INTO kayako.tickets (id, display_id, flag_type, department_id, status_id,"
        " priority_id, type_id, user_id, user_organization, user_organization_id, owner_staff_id,"
        " owner_staff_name, full_name, email, last_replier, subject, created_at, last_activity_at,"
        " sla_plan_id, next_reply_due_at, resolution_due_at, replies, ip_address, creator,"
        " creation_mode, creation_type, is_escalated, escalation_rule_id, template_group_id,"
        " tags, watchers, workflows, content_hash, version, first_seen_at, last_changed_at)"
        " SELECT id, display_id, flag_type, department_id, status_id, priority_id, type_id,"
        " user_id, user_organization, user_organization_id, owner_staff_id, owner_staff_name,"
        " full_name, email, last_replier, subject, created_at, to_timestamp(la), sla_plan_id,"
        " next_reply_due_at, resolution_due_at, replies, '', creator, 0, 0, false, 0, 0,"
        " '{}', '[]', '[]', content_hash, version, now(), now() FROM t;",
        "INSERT INTO kayako_sync.stream_cursors (stream, cursor) VALUES ('tickets',"
        f" '{{\"phase\": \"incremental\", \"watermark\": {newest}}}');",
        "ANALYZE kayako.tickets;",
    ])
    os.unlink(path)
    return n


def measured(site, emu, label, *cmd):
    B.settle()
    w0 = site.tuple_writes()
    emu.clear_log()
    m = site.ksync(*cmd)
    entries = emu.log_entries()
    B.settle()
    m["requests"] = len(entries)
    m["requests_by_endpoint"] = B.by_endpoint(entries)
    m["tuples_written"] = B.diff_writes(w0, site.tuple_writes())
    B.log(f"  {label}: exit {m['exit']}, {m['wall_s']} s, cpu {m['cpu_s']} s, peak RSS "
          f"{m['peak_rss_mib']} MiB, {m['requests']} requests {m['requests_by_endpoint']}, "
          f"tuples {m['tuples_written']}")
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--tickets", type=int, default=1000000)
    ap.add_argument("--users", type=int, default=0, help="default: as many as tickets")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    args.dsn = os.environ["KSYNC_TEST_PG_DSN"]
    args.psql = os.path.join(os.environ.get("PG_BIN", ""), "psql")
    if not os.access(args.psql, os.X_OK):
        args.psql = "psql"
    args.ksync = os.path.join(args.build, "daemon", "kayako-sync")
    args.max_in_flight, args.rps, args.page_size = 4, 1000, 1000
    args.push_concurrency = 0
    users = args.users or args.tickets
    out = {"tickets": args.tickets, "users": users}
    workdir = tempfile.mkdtemp(prefix="ksync-slow-")
    os.chmod(workdir, 0o755)
    emu = B.Emulator(os.path.join(args.build, "tests", "emulator", "kayako-emulator"),
                     args.tickets, users, workdir)
    site = None
    try:
        site = B.Site(args, emu, args.tickets, workdir)
        site.ksync("migrate")
        out["lookups"] = measured(site, emu, "lookups + organizations", "once", "--stream",
                                  "lookups", "--stream", "organizations")
        out["users_first"] = measured(site, emu, "users, first run (a full scan)", "once",
                                      "--stream", "users")
        out["tickets_filled"] = fill_tickets(site, emu)
        out["reconcile_first"] = measured(site, emu, "reconcile over placeholder rows", "once",
                                          "--stream", "reconcile")
        out["reconcile"] = measured(site, emu, "reconcile, nothing changed", "once", "--stream",
                                    "reconcile")
        out["users_full"] = measured(site, emu, "full user scan, nothing changed", "once",
                                     "--full", "--stream", "users")
        out["quiet_once"] = measured(site, emu, "once, nothing changed", "once")
    finally:
        if site:
            site.drop()
        emu.stop()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
