#!/usr/bin/env python3
"""End-to-end benchmark of kayako-sync against kayako-emulator and PostgreSQL (issue 14).

Driven by scripts/bench, which builds the binaries and starts PostgreSQL (KSYNC_TEST_PG_DSN, PG_DIR,
PG_BIN). For the main size N this measures, in one run:
  1. the full backfill with `kayako-sync once` (wall, CPU, peak RSS, rows per entity, objects/s);
  2. the limits on the same data: the emulator serving every GET that backfill made, replayed by a
     bare client (bench_replay), and `psql \\copy` of exactly the mirror and feed rows it wrote;
  3. a no-change `once`: wall, CPU, requests (per stream too), rows written;
  4. an incremental `once` after 1% of tickets and users changed through /_control;
  5. push-back: 10k queued ticket updates drained by `once --stream push`, then 10k updates fed
     at a steady rate to a running `kayako-sync run` for the commit-to-Kayako latency;
  6. the backfill's peak RSS at each extra size (--rss-sizes).
Writes JSON (--json) and a markdown report (--md). Nothing here fails on a missed goal.
"""
import argparse
import http.client
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

APIKEY = "bench-4e2b1c9a-7d3f-4a61"
SECRET = "YmVuY2gtc2VjcmV0LWZvci1rYXlha28tc3luYy1pc3N1ZS0xNC1vbmx5LW9uLWxvb3BiYWNr"
CLK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---- PostgreSQL through psql ------------------------------------------------------------------

class Pg:
    def __init__(self, psql, dsn):
        self.psql, self.dsn = psql, dsn

    def run(self, sql, dsn=None):
        out = subprocess.run([self.psql, "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                              dsn or self.dsn, "-c", sql],
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def script(self, commands):
        """Several psql commands (meta-commands included) in one session."""
        subprocess.run([self.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", self.dsn],
                       input="\n".join(commands) + "\n", check=True, text=True,
                       stdout=subprocess.DEVNULL)

    def rows(self, sql):
        text = self.run(sql)
        return [line.split("|") for line in text.splitlines() if line]


def dsn_with_db(dsn, db):
    parts = [p for p in dsn.split() if not p.startswith("dbname=")]
    return " ".join(parts + [f"dbname={db}"])


def dsn_field(dsn, key):
    for p in dsn.split():
        if p.startswith(key + "="):
            return p.split("=", 1)[1]
    return None


# ---- processes and CPU ------------------------------------------------------------------------

def proc_cpu(pid, children=False):
    """utime+stime (and, with children, the reaped children's) of a live process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is state (field 3): utime is field 14, cutime field 16.
    total = int(fields[11]) + int(fields[12])
    if children:
        total += int(fields[13]) + int(fields[14])
    return total / CLK


def postgres_cpu(pg_dir):
    """CPU of the whole PostgreSQL server: the postmaster, its reaped backends and live ones."""
    with open(os.path.join(pg_dir, "data", "postmaster.pid")) as f:
        master = int(f.readline())
    total = proc_cpu(master, children=True)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == master:
                total += (int(fields[11]) + int(fields[12])) / CLK
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return total


def run_measured(argv, logfile, cwd=None):
    """Runs a child to its end: exit code, wall seconds, user+sys seconds, peak RSS (MiB).

    The peak RSS comes from /usr/bin/time, not from this process's wait4(): Linux counts the
    memory of the process that forked (vfork + exec: this Python, over 100 MiB after reading a
    large request log) into the child's ru_maxrss. CPU is wait4()'s, which includes time's child.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss, open(logfile, "a") as out:
        out.write("$ " + " ".join(argv) + "\n")
        out.flush()
        t0 = time.monotonic()
        p = subprocess.Popen(["/usr/bin/time", "-q", "-f", "%M", "-o", rss.name, *argv],
                             stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        text = rss.read().strip().splitlines()
    p.returncode = os.waitstatus_to_exitcode(status)
    return {"exit": p.returncode, "wall_s": round(wall, 3),
            "user_s": round(ru.ru_utime, 3), "sys_s": round(ru.ru_stime, 3),
            "cpu_s": round(ru.ru_utime + ru.ru_stime, 3),
            "peak_rss_mib": round(int(text[-1]) / 1024, 1) if text else None}


# ---- the emulator -----------------------------------------------------------------------------

class Emulator:
    def __init__(self, binary, tickets, users, workdir, seed=1):
        self.err = open(os.path.join(workdir, f"emulator-{tickets}.err"), "w")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [binary, "--seed", str(seed), "--tickets", str(tickets), "--users", str(users),
             "--port", "0", "--apikey", APIKEY, "--secret", SECRET],
            stdout=subprocess.PIPE, stderr=self.err, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"emulator did not start: {line!r}")
        self.startup_s = time.monotonic() - t0
        self.port = int(line.rsplit(":", 1)[1])
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)

    def control(self, method, path, fields=None):
        body = urllib.parse.urlencode(fields) if fields else None
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        for attempt in range(2):
            try:
                self.conn.request(method, "/_control/" + path, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
                if attempt:
                    raise
        if r.status >= 400:
            raise RuntimeError(f"{method} /_control/{path}: {r.status} {data[:200]!r}")
        if r.getheader("Content-Type", "").startswith("application/json"):
            return json.loads(data)
        return data  # the ticket and user paths answer what the API would: XML

    def clear_log(self):
        self.control("DELETE", "log")

    def log_entries(self):
        return self.control("GET", "log")

    def cpu(self):
        return proc_cpu(self.proc.pid)

    def rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0

    def stop(self):
        self.conn.close()
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()


def by_endpoint(entries):
    counts = {}
    for e in entries:
        key = f"{e['method']} {e['endpoint'] or e['path']}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


# ---- one database and config per size ---------------------------------------------------------

class Site:
    """A database, a secret file and config files for one emulator."""

    def __init__(self, args, emu, size, workdir):
        self.args, self.emu, self.size = args, emu, size
        self.dir = os.path.join(workdir, f"site-{size}")
        os.makedirs(self.dir, exist_ok=True)
        self.db = f"ksync_bench_{size}"
        admin = Pg(args.psql, args.dsn)
        admin.run(f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)")
        admin.run(f"CREATE DATABASE {self.db}")
        self.pg = Pg(args.psql, dsn_with_db(args.dsn, self.db))
        secret = os.path.join(self.dir, "secret")
        with open(secret, "w") as f:
            f.write(SECRET + "\n")
        os.chmod(secret, 0o600)
        self.config = self.write_config("ksync.yaml", push=False, daemon=False)
        self.push_config = self.write_config("ksync-push.yaml", push=True, daemon=True)
        self.log = os.path.join(self.dir, "kayako-sync.log")

    def write_config(self, name, push, daemon):
        a = self.args
        # The daemon (push latency run) runs each sync stream once at start, then stays quiet.
        every = lambda iv: f"    interval: {iv}\n" if daemon else ""
        text = (
            "kayako:\n"
            f"  base_url: http://127.0.0.1:{self.emu.port}/api/\n"
            f"  api_key: {APIKEY}\n"
            "  secret_file: secret\n"
            "  allow_plain_http: true\n"
            f"  max_in_flight: {a.max_in_flight}\n"
            f"  requests_per_second: {a.rps}\n"
            "postgres:\n"
            f"  host: {dsn_field(a.dsn, 'host') or '127.0.0.1'}\n"
            f"  port: {dsn_field(a.dsn, 'port') or 5432}\n"
            f"  dbname: {self.db}\n"
            f"  user: {dsn_field(a.dsn, 'user') or 'postgres'}\n"
            "  sslmode: disable\n"
            "  statement_timeout: 10m\n"
            "streams:\n"
            f"  lookups:\n{every('1h')}    enabled: true\n"
            f"  organizations:\n{every('1h')}    enabled: true\n"
            f"  users:\n{every('1h')}    page_size: 1000\n"
            f"  tickets:\n{every('1h')}    page_size: {a.page_size}\n"
            f"  reconcile:\n    enabled: {'false' if daemon else 'true'}\n"
            "log:\n"
            "  level: warn\n"
        )
        if push:
            text += "push:\n  enabled: true\n  sweep_interval: 1s\n"
            if a.push_concurrency:
                text += f"  concurrency: {a.push_concurrency}\n"
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def ksync(self, *cmd, config=None):
        return run_measured([self.args.ksync, "--config", config or self.config, *cmd],
                            self.log, cwd=self.dir)

    def mirror_tables(self):
        return [r[0] for r in self.pg.rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'kayako'"
            " AND table_type = 'BASE TABLE' ORDER BY 1")]

    def counts(self):
        """Rows per mirror table, the sum of their versions, feed rows."""
        parts = [f"SELECT '{t}', count(*), coalesce(sum(version), 0) FROM kayako.{t}"
                 for t in self.mirror_tables()]
        rows = {r[0]: (int(r[1]), int(r[2])) for r in self.pg.rows(" UNION ALL ".join(parts))}
        feed = int(self.pg.run("SELECT count(*) FROM kayako_sync.changes"))
        return {"rows": {t: n for t, (n, _) in rows.items()},
                "versions": sum(v for _, v in rows.values()), "feed_rows": feed}

    def tuple_writes(self):
        """Rows inserted, updated or deleted per table of both schemas (statistics collector)."""
        rows = self.pg.rows(
            "SELECT schemaname || '.' || relname, n_tup_ins + n_tup_upd + n_tup_del"
            " FROM pg_stat_user_tables WHERE schemaname IN ('kayako', 'kayako_sync')")
        return {r[0]: int(r[1]) for r in rows}

    def drop(self):
        Pg(self.args.psql, self.args.dsn).run(f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)")


def diff_writes(before, after):
    return {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}


def settle():
    """Statistics of exited backends reach pg_stat_user_tables at once; a short pause anyway."""
    time.sleep(1.0)


# ---- the phases -------------------------------------------------------------------------------

def backfill(site, emu, pg_dir):
    log(f"backfill: kayako-sync once, {site.size} tickets")
    emu.clear_log()
    e0, p0 = emu.cpu(), postgres_cpu(pg_dir)
    m = site.ksync("once")
    m["emulator_cpu_s"] = round(emu.cpu() - e0, 2)
    m["postgres_cpu_s"] = round(postgres_cpu(pg_dir) - p0, 2)
    entries = emu.log_entries()
    m["requests"] = len(entries)
    m["requests_by_endpoint"] = by_endpoint(entries)
    c = site.counts()
    m["rows"] = c["rows"]
    m["feed_rows"] = c["feed_rows"]
    m["objects"] = sum(c["rows"].values())
    m["objects_per_s"] = round(m["objects"] / m["wall_s"], 1)
    m["per_entity_per_s"] = {t: round(n / m["wall_s"], 1) for t, n in c["rows"].items() if n}
    log(f"  {m['objects']} objects in {m['wall_s']} s ({m['objects_per_s']}/s), "
        f"cpu {m['cpu_s']} s, rss {m['peak_rss_mib']} MiB, exit {m['exit']}")
    return m, entries


def emulator_limit(args, emu, entries, workdir):
    """Every GET of the backfill, replayed by bench_replay; then the list pages alone."""
    routes = [e["path"] for e in entries if e["method"] == "GET" and e["status"] == 200]
    out = {}
    for name, subset, conns in (
            ("all_gets", routes, args.max_in_flight),
            ("list_pages", [r for r in routes if "/ListAll/" in r or "/Filter/" in r
                            or r.count("/") <= 2], 1)):
        path = os.path.join(workdir, f"routes-{name}.txt")
        with open(path, "w") as f:
            f.write("\n".join(subset) + "\n")
        e0 = emu.cpu()
        with open(path) as f:
            r = subprocess.run([args.replay, "--port", str(emu.port), "--apikey", APIKEY,
                                "--secret", SECRET, "--connections", str(conns)],
                               stdin=f, capture_output=True, text=True, check=True)
        res = json.loads(r.stdout)
        res["emulator_cpu_s"] = round(emu.cpu() - e0, 2)
        out[name] = res
        log(f"  emulator alone ({name}, {conns} connection(s)): {res['requests']} requests, "
            f"{res['bytes'] / 1e6:.1f} MB in {res['seconds']:.2f} s")
    return out


def copy_limit(site, workdir):
    """psql \\copy of exactly the mirror and feed rows the daemon wrote, into fresh tables."""
    tables = [f"kayako.{t}" for t, n in site.counts()["rows"].items() if n] + ["kayako_sync.changes"]
    d = os.path.join(workdir, f"copy-{site.size}")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o777)
    export, create, load = [], ["DROP SCHEMA IF EXISTS baseline CASCADE;", "CREATE SCHEMA baseline;"], []
    for t in tables:
        f = os.path.join(d, t.replace(".", "_") + ".copy")
        base = "baseline." + t.replace(".", "_")
        export.append(f"\\copy {t} TO '{f}'")
        create.append(f"CREATE TABLE {base} (LIKE {t} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
                      " INCLUDING INDEXES);")
        load.append(f"\\copy {base} FROM '{f}'")
    site.pg.script(export + create)
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    t0 = time.monotonic()
    site.pg.script(load)
    secs = time.monotonic() - t0
    site.pg.run("DROP SCHEMA baseline CASCADE")
    shutil.rmtree(d)
    log(f"  psql \\copy of {len(tables)} tables ({size / 1e6:.1f} MB): {secs:.2f} s")
    return {"seconds": round(secs, 3), "tables": tables, "bytes": size}


def quiet_cycle(site, emu, pg_dir, label):
    """A `once` with nothing (or little) changed: wall, CPU, requests, rows written."""
    settle()
    before, w0 = site.counts(), site.tuple_writes()
    emu.clear_log()
    e0, p0 = emu.cpu(), postgres_cpu(pg_dir)
    m = site.ksync("once")
    m["emulator_cpu_s"] = round(emu.cpu() - e0, 2)
    m["postgres_cpu_s"] = round(postgres_cpu(pg_dir) - p0, 2)
    entries = emu.log_entries()
    settle()
    after, w1 = site.counts(), site.tuple_writes()
    m["requests"] = len(entries)
    m["requests_by_endpoint"] = by_endpoint(entries)
    m["versions_added"] = after["versions"] - before["versions"]
    m["feed_rows_added"] = after["feed_rows"] - before["feed_rows"]
    m["tuples_written"] = diff_writes(w0, w1)
    log(f"  {label}: {m['wall_s']} s, cpu {m['cpu_s']} s, {m['requests']} requests, "
        f"+{m['versions_added']} versions, +{m['feed_rows_added']} feed rows, "
        f"tuples {m['tuples_written']}")
    return m


def per_stream(site, emu):
    """Requests of each stream alone, nothing changed (once --stream NAME)."""
    out = {}
    # `--stream users` is the new-id pass unless the full scan is due; `--full` forces the scan.
    for s, extra in (("lookups", ()), ("organizations", ()), ("users", ()),
                     ("users (full scan)", ("--full",)), ("tickets", ()), ("reconcile", ())):
        emu.clear_log()
        m = site.ksync("once", *extra, "--stream", s.split()[0])
        entries = emu.log_entries()
        out[s] = {"requests": len(entries), "wall_s": m["wall_s"], "peak_rss_mib": m["peak_rss_mib"],
                  "by_endpoint": by_endpoint(entries)}
    log("  per stream: " + ", ".join(f"{k} {v['requests']}" for k, v in out.items()))
    return out


def change_one_percent(site, emu, size):
    n = max(1, size // 100)
    tickets = [int(r[0]) for r in site.pg.rows(
        f"SELECT id FROM kayako.tickets WHERE department_id <> 0 AND deleted_at IS NULL"
        f" ORDER BY random() LIMIT {n}")]
    users = [int(r[0]) for r in site.pg.rows(
        f"SELECT id FROM kayako.users WHERE deleted_at IS NULL ORDER BY random() LIMIT {n}")]
    for i in tickets:
        emu.control("POST", f"tickets/{i}", {"subject": f"Changed by the benchmark {i}"})
    for i in users:
        emu.control("POST", f"users/{i}", {"fullname": f"Bench Renamed {i}"})
    return len(tickets), len(users)


def push_drain(site, emu, n, batch):
    """n ticket updates queued first, then drained by `once --stream push`."""
    ids = [int(r[0]) for r in site.pg.rows(
        f"SELECT id FROM kayako.tickets WHERE department_id <> 0 AND deleted_at IS NULL"
        f" ORDER BY id LIMIT {n}")]
    t0 = time.monotonic()
    for k in range(0, len(ids), batch):
        chunk = ",".join(map(str, ids[k:k + batch]))
        site.pg.run(f"UPDATE kayako.tickets SET subject = 'Pushed by the benchmark ' || id"
                    f" WHERE id IN ({chunk})")
    queue_s = time.monotonic() - t0
    emu.clear_log()
    m = site.ksync("once", "--stream", "push", config=site.push_config)
    entries = emu.log_entries()
    puts = sum(1 for e in entries if e["method"] == "PUT")
    states = dict((r[0], int(r[1])) for r in site.pg.rows(
        "SELECT state, count(*) FROM kayako_sync.outbox GROUP BY 1"))
    m.update({"queued": len(ids), "queue_s": round(queue_s, 2), "requests": len(entries),
              "puts": puts, "put_per_s": round(puts / m["wall_s"], 1), "states": states,
              "requests_by_endpoint": by_endpoint(entries)})
    log(f"  push drain: {puts} PUTs in {m['wall_s']} s ({m['put_per_s']}/s), states {states}")
    return m


def push_latency(site, emu, n, batch, rate):
    """A running daemon; n updates committed in batches at `rate` rows/s; done_at - created_at."""
    ids = [int(r[0]) for r in site.pg.rows(
        f"SELECT id FROM kayako.tickets WHERE department_id <> 0 AND deleted_at IS NULL"
        f" ORDER BY id DESC LIMIT {n}")]
    first_new = int(site.pg.run("SELECT coalesce(max(id), 0) FROM kayako_sync.outbox")) + 1
    with open(site.log, "a") as out:
        d = subprocess.Popen([site.args.ksync, "--config", site.push_config, "run"],
                             stdout=out, stderr=subprocess.STDOUT, cwd=site.dir)
    try:
        # Ready when the worker listens and the first sync cycles have gone quiet.
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if site.pg.run("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %outbox%'") != "0":
                break
            time.sleep(0.2)
        last = -1
        while time.monotonic() < deadline:
            n_log = len(emu.log_entries())
            if n_log == last:
                break
            last = n_log
            time.sleep(2)
        emu.clear_log()
        d_cpu0 = proc_cpu(d.pid)
        # One psql session fed statement by statement (each its own transaction, committed as
        # psql reads it): starting a psql per batch capped the feed near 100 updates/s.
        feeder = subprocess.Popen([site.args.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", site.pg.dsn],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        t0 = time.monotonic()
        for k in range(0, len(ids), batch):
            due = t0 + k / rate
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            chunk = ",".join(map(str, ids[k:k + batch]))
            feeder.stdin.write(f"UPDATE kayako.tickets SET subject = 'Latency probe at {rate:g}/s ' || id"
                               f" WHERE id IN ({chunk});\n")
            feeder.stdin.flush()
        feeder.stdin.close()
        if feeder.wait(600) != 0:
            raise RuntimeError("the latency feeder's psql failed")
        fed_s = time.monotonic() - t0
        while time.monotonic() < deadline:
            left = int(site.pg.run(f"SELECT count(*) FROM kayako_sync.outbox WHERE id >= {first_new}"
                                   " AND state IN ('pending', 'sending')"))
            if left == 0:
                break
            time.sleep(0.2)
        drained_s = time.monotonic() - t0
        d_cpu = proc_cpu(d.pid) - d_cpu0
        with open(f"/proc/{d.pid}/status") as f:
            hwm = next(int(l.split()[1]) / 1024 for l in f if l.startswith("VmHWM:"))
    finally:
        d.terminate()
        d.wait(60)
    lat = site.pg.run(
        "SELECT json_build_object('n', count(*),"
        " 'p50', percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM done_at - created_at)),"
        " 'p99', percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM done_at - created_at)),"
        " 'max', max(extract(epoch FROM done_at - created_at)))"
        f" FROM kayako_sync.outbox WHERE id >= {first_new} AND state = 'done'")
    lat = json.loads(lat)
    entries = emu.log_entries()
    puts = sum(1 for e in entries if e["method"] == "PUT")
    m = {"updates": len(ids), "batch": batch, "target_rate_per_s": rate, "fed_s": round(fed_s, 2),
         "drained_s": round(drained_s, 2), "puts": puts, "done": lat["n"],
         "put_per_s": round(puts / drained_s, 1),
         "latency_p50_s": round(lat["p50"] or 0, 3), "latency_p99_s": round(lat["p99"] or 0, 3),
         "latency_max_s": round(lat["max"] or 0, 3), "daemon_cpu_s": round(d_cpu, 2),
         "daemon_peak_rss_mib": round(hwm, 1), "exit": d.returncode}
    log(f"  push latency: {m['done']} done of {m['updates']} at {rate}/s target, p50 "
        f"{m['latency_p50_s']} s, p99 {m['latency_p99_s']} s, max {m['latency_max_s']} s")
    return m


def push_phases(site, emu, args, result):
    log("push-back")
    result["push_drain"] = push_drain(site, emu, args.push, args.push_batch)
    # Latency with `run` running: at the goal's rate, then at a rate it can sustain.
    result["push_latency"] = push_latency(site, emu, args.latency_n, max(1, int(args.push_rate // 10)),
                                          args.push_rate)
    result["push_latency_low"] = push_latency(site, emu, args.latency_low_n, 1, args.latency_low_rate)


# ---- main -------------------------------------------------------------------------------------

def machine():
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024 // 1024
    pg = subprocess.run([os.path.join(os.environ.get("PG_BIN", ""), "postgres"), "--version"],
                        capture_output=True, text=True).stdout.strip() if os.environ.get("PG_BIN") else ""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    rev = subprocess.run(["git", "-C", root, "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip()
    return {"git": rev, "cores": os.cpu_count(), "cpu": model, "memory_gib": mem, "kernel": platform.release(),
            "postgres": pg, "load_at_start": os.getloadavg()[0],
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def render_only(json_path, md_path):
    """Rebuilds the markdown from a JSON written earlier (e.g. after editing the findings)."""
    with open(json_path) as f:
        result = json.load(f)
    result["goals"] = goals(result)
    with open(md_path, "w") as f:
        f.write(markdown(result))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--render":
        return render_only(sys.argv[2], sys.argv[3])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--tickets", type=int, default=100000)
    ap.add_argument("--users", type=int, default=0, help="default: as many as tickets")
    ap.add_argument("--rss-sizes", default="", help="extra ticket counts, backfill only, e.g. 1000000")
    ap.add_argument("--push", type=int, default=10000)
    ap.add_argument("--push-batch", type=int, default=1000)
    ap.add_argument("--push-rate", type=float, default=200, help="rows/s fed to the running daemon")
    ap.add_argument("--latency-n", type=int, default=2000, help="updates fed to `run` at --push-rate")
    ap.add_argument("--latency-low-n", type=int, default=300)
    ap.add_argument("--latency-low-rate", type=float, default=20)
    ap.add_argument("--max-in-flight", type=int, default=4)
    ap.add_argument("--rps", type=float, default=10000,
                    help="kayako.requests_per_second (default: the most the config accepts)")
    ap.add_argument("--page-size", type=int, default=1000)
    ap.add_argument("--push-concurrency", type=int, default=32,
                    help="push.concurrency in the daemon's config (0: leave the default)")
    ap.add_argument("--only", choices=["push", "backfill"], default=None,
                    help="push: backfill (for the mirror), then only the push-back phases; "
                         "backfill: the backfill and its two limits (emulator alone, psql \\copy) "
                         "only; both write --json alone (the markdown report needs every phase)")
    ap.add_argument("--json", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--command", default="scripts/bench")
    args = ap.parse_args()
    args.dsn = os.environ["KSYNC_TEST_PG_DSN"]
    pg_dir = os.environ["PG_DIR"]
    args.psql = os.path.join(os.environ.get("PG_BIN", ""), "psql")
    if not os.access(args.psql, os.X_OK):
        args.psql = "psql"
    args.ksync = os.path.join(args.build, "daemon", "kayako-sync")
    args.emulator = os.path.join(args.build, "tests", "emulator", "kayako-emulator")
    args.replay = os.path.join(args.build, "tests", "bench", "bench_replay")
    users = args.users or args.tickets

    result = {"machine": machine(), "command": args.command,
              "config": {"max_in_flight": args.max_in_flight, "requests_per_second": args.rps,
                         "tickets_page_size": args.page_size, "users_page_size": 1000,
                         "push_concurrency": args.push_concurrency or "default"},
              "size": {"tickets": args.tickets, "users": users}}
    workdir = tempfile.mkdtemp(prefix="ksync-bench-")
    os.chmod(workdir, 0o755)
    try:
        log(f"emulator --tickets {args.tickets} --users {users}")
        emu = Emulator(args.emulator, args.tickets, users, workdir)
        site = None
        try:
            result["emulator"] = {"startup_s": round(emu.startup_s, 2), "rss_mib": round(emu.rss_mib(), 1)}
            site = Site(args, emu, args.tickets, workdir)
            mig = site.ksync("migrate")
            if mig["exit"] != 0:
                with open(site.log) as f:
                    raise RuntimeError("migrate failed: " + f.read()[-2000:])
            bf, entries = backfill(site, emu, pg_dir)
            result["backfill"] = bf
            if args.only == "push":
                del entries
                push_phases(site, emu, args, result)
                with open(args.json, "w") as f:
                    json.dump(result, f, indent=1)
                    f.write("\n")
                log(f"wrote {args.json}")
                return
            log("limits")
            result["limit_emulator"] = emulator_limit(args, emu, entries, workdir)
            del entries
            result["limit_copy"] = copy_limit(site, workdir)
            if args.only == "backfill":
                t_emu = result["limit_emulator"]["all_gets"]["seconds"]
                t_copy = result["limit_copy"]["seconds"]
                result["ratios"] = {"emulator": round(t_emu / bf["wall_s"], 3),
                                    "copy": round(t_copy / bf["wall_s"], 3)}
                result["machine"]["load_at_end"] = os.getloadavg()[0]
                log(f"backfill / emulator limit {result['ratios']['emulator']}x, "
                    f"/ copy limit {result['ratios']['copy']}x")
                with open(args.json, "w") as f:
                    json.dump(result, f, indent=1)
                    f.write("\n")
                log(f"wrote {args.json}")
                return
            log("no-change cycle")
            result["no_change"] = quiet_cycle(site, emu, pg_dir, "no change")
            result["no_change_per_stream"] = per_stream(site, emu)
            log("incremental cycle, 1% changed")
            nt, nu = change_one_percent(site, emu, args.tickets)
            inc = quiet_cycle(site, emu, pg_dir, "1% changed")
            inc["changed_tickets"], inc["changed_users"] = nt, nu
            result["incremental"] = inc
            push_phases(site, emu, args, result)
            result["emulator"]["rss_end_mib"] = round(emu.rss_mib(), 1)
        finally:
            if site:
                site.drop()
            emu.stop()
        result["rss_sizes"] = [{"tickets": args.tickets, "users": users,
                                "peak_rss_mib": result["backfill"]["peak_rss_mib"],
                                "wall_s": result["backfill"]["wall_s"],
                                "objects_per_s": result["backfill"]["objects_per_s"]}]
        write_outputs(args, result)  # the main size's figures, before the (long) extra sizes
        for extra in [int(s) for s in args.rss_sizes.split(",") if s.strip()]:
            log(f"peak RSS at {extra} tickets")
            emu = Emulator(args.emulator, extra, extra, workdir)
            site = None
            try:
                site = Site(args, emu, extra, workdir)
                site.ksync("migrate")
                bf, _ = backfill(site, emu, pg_dir)
                result["rss_sizes"].append({"tickets": extra, "users": extra,
                                            "peak_rss_mib": bf["peak_rss_mib"], "wall_s": bf["wall_s"],
                                            "objects_per_s": bf["objects_per_s"], "exit": bf["exit"],
                                            "cpu_s": bf["cpu_s"],
                                            "emulator_rss_mib": round(emu.rss_mib(), 1)})
            finally:
                if site:
                    site.drop()
                emu.stop()
            write_outputs(args, result)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def write_outputs(args, result):
    result["goals"] = goals(result)
    with open(args.json, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    with open(args.md, "w") as f:
        f.write(markdown(result))
    log(f"wrote {args.json} and {args.md}")


def goals(r):
    bf = r["backfill"]
    t_emu = r["limit_emulator"]["all_gets"]["seconds"]
    t_copy = r["limit_copy"]["seconds"]
    slower = max(t_emu, t_copy)
    nc = r["no_change"]
    allowed = sum(v["requests"] for k, v in r["no_change_per_stream"].items()
                  if k in ("lookups", "organizations")) + 2
    rss = [s["peak_rss_mib"] for s in r["rss_sizes"]]
    # Every other run of the daemon counts too (None: not measured reliably).
    others = [x for x in (r["no_change"].get("peak_rss_mib"), r["incremental"].get("peak_rss_mib"),
                          r["push_drain"].get("peak_rss_mib"), r["push_latency"].get("daemon_peak_rss_mib"))
              if x is not None]
    pl = r["push_latency"]
    return {
        "backfill_vs_limit": {"ratio": round(slower / bf["wall_s"], 2), "goal": 0.7,
                              "met": slower / bf["wall_s"] >= 0.7,
                              "slower_limit": "emulator" if t_emu >= t_copy else "copy"},
        "no_change": {"rows_written": nc["versions_added"] + nc["feed_rows_added"],
                      "tuples_written": sum(nc["tuples_written"].values()),
                      "requests": nc["requests"], "allowed_requests": allowed,
                      "met": nc["versions_added"] == 0 and nc["feed_rows_added"] == 0
                      and not nc["tuples_written"] and nc["requests"] <= allowed},
        "rss": {"peak_mib": rss, "other_runs_max_mib": max(others) if others else None,
                "met": max(rss + others) < 64 and (len(rss) < 2 or max(rss) - min(rss) < 4),
                "sizes_measured": [s["tickets"] for s in r["rss_sizes"]]},
        "push": {"drain_put_per_s": r["push_drain"]["put_per_s"], "p99_s": pl["latency_p99_s"],
                 "met": r["push_drain"]["put_per_s"] >= 200 and pl["latency_p99_s"] < 1.0},
    }


def mib(x):
    return f"{x} MiB" if x is not None else "not measured (see the findings)"


def fmt_n(x):
    return f"{x:,.0f}" if isinstance(x, (int, float)) and abs(x) >= 100 else str(x)


def markdown(r):
    m, bf, g = r["machine"], r["backfill"], r["goals"]
    em, cp = r["limit_emulator"], r["limit_copy"]
    objs = bf["objects"]
    t_all, t_list, t_copy = em["all_gets"]["seconds"], em["list_pages"]["seconds"], cp["seconds"]
    nc, inc, pd, pl = r["no_change"], r["incremental"], r["push_drain"], r["push_latency"]
    changed = inc["changed_tickets"] + inc["changed_users"]
    yes = lambda b: "**met**" if b else "**missed**"
    L = []
    L.append("# kayako-sync benchmarks (issue 14)\n")
    L.append(f"Generated by `{r['command']}` ({m['date']}, tree `{m.get('git', '?')}`). Machine: {m['cores']} cores ({m['cpu']}), "
             f"{m['memory_gib']} GiB, Linux {m['kernel']}, {m['postgres']}; shared with other work "
             f"(load average {m['load_at_start']:.1f} at the start), so single runs vary. "
             f"Release build; PostgreSQL is the throwaway cluster of `scripts/lib/pg.sh` (fsync off). "
             f"Emulator `--seed 1 --tickets {r['size']['tickets']} --users {r['size']['users']}` "
             f"(started in {r['emulator']['startup_s']} s, {r['emulator']['rss_mib']} MiB). Daemon config: "
             f"`max_in_flight: {r['config']['max_in_flight']}`, `requests_per_second: "
             f"{r['config']['requests_per_second']:.0f}` (the maximum the config accepts), "
             f"tickets `page_size: {r['config']['tickets_page_size']}`, "
             f"`push.concurrency: {r['config'].get('push_concurrency', 'default')}`.\n")
    L.append("## Goals\n")
    L.append("| goal | measured | result |\n|---|---|---|")
    gb = g["backfill_vs_limit"]
    L.append(f"| backfill objects/s ≥ 0.7× the slower limit | {bf['objects_per_s']:,.0f} objects/s; slower limit: "
             f"{gb['slower_limit']} at {objs / max(t_all, t_copy):,.0f} objects/s | {gb['ratio']}× {yes(gb['met'])} |")
    gn = g["no_change"]
    L.append(f"| no-change cycle at {r['size']['tickets']:,} tickets: no row written, ≤ lookups + organizations "
             f"+ 1 ticket page + 1 user page | {gn['rows_written']} mirror versions/feed rows, "
             f"{gn['tuples_written']} tuples written; {gn['requests']} requests (allowed {gn['allowed_requests']}) "
             f"| {yes(gn['met'])} |")
    gr = g["rss"]
    L.append(f"| peak RSS < 64 MiB, the same at both sizes | "
             + ", ".join(f"{s['peak_rss_mib']} MiB at {s['tickets']:,}" for s in r["rss_sizes"])
             + f" | {yes(gr['met'])} |")
    gp = g["push"]
    L.append(f"| push-back ≥ 200 PUT/s, p99 commit-to-Kayako < 1 s | {pd['put_per_s']} PUT/s draining; "
             f"p99 {pl['latency_p99_s']} s at {pl['updates'] / pl['fed_s']:.0f} updates/s "
             f"(p99 {r['push_latency_low']['latency_p99_s']} s at "
             f"{r['push_latency_low']['updates'] / r['push_latency_low']['fed_s']:.1f}/s) | {yes(gp['met'])} |\n")

    L.append("## 1–2. Backfill and the limits\n")
    L.append("| what | wall s | objects/s | CPU s (user+sys) | other |\n|---|---|---|---|---|")
    L.append(f"| `kayako-sync once` (full backfill) | {bf['wall_s']} | {bf['objects_per_s']:,.0f} | "
             f"{bf['cpu_s']} ({bf['user_s']}+{bf['sys_s']}) | peak RSS {bf['peak_rss_mib']} MiB; "
             f"{bf['requests']:,} requests; emulator CPU {bf['emulator_cpu_s']} s, PostgreSQL CPU "
             f"{bf['postgres_cpu_s']} s |")
    L.append(f"| limit: emulator serving the same {em['all_gets']['requests']:,} GETs, bare client, "
             f"{em['all_gets']['connections']} connections | {t_all:.2f} | {objs / t_all:,.0f} | "
             f"emulator {em['all_gets']['emulator_cpu_s']} | {em['all_gets']['bytes'] / 1e6:,.0f} MB; "
             f"backfill / this = {t_all / bf['wall_s']:.2f}× |")
    L.append(f"| (the ListAll/Filter/lookup pages alone, 1 connection: {em['list_pages']['requests']:,} "
             f"requests) | {t_list:.2f} | {objs / t_list:,.0f} | emulator {em['list_pages']['emulator_cpu_s']} | "
             f"{em['list_pages']['bytes'] / 1e6:,.0f} MB |")
    L.append(f"| limit: `psql \\copy` of the same mirror + feed rows into fresh tables | {t_copy:.2f} | "
             f"{objs / t_copy:,.0f} | | {cp['bytes'] / 1e6:,.0f} MB in {len(cp['tables'])} tables; "
             f"backfill / this = {t_copy / bf['wall_s']:.2f}× |\n")
    L.append("Rows written by the backfill (objects/s per entity over the whole backfill wall time):\n")
    L.append("| table | rows | per s |\n|---|---|---|")
    for t, n in sorted(bf["rows"].items(), key=lambda kv: -kv[1]):
        if n:
            L.append(f"| {t} | {n:,} | {bf['per_entity_per_s'][t]:,.0f} |")
    L.append(f"| feed (`kayako_sync.changes`) | {bf['feed_rows']:,} | |\n")
    L.append("Backfill requests: " + ", ".join(f"{k} {v:,}" for k, v in bf["requests_by_endpoint"].items())
             + ".\n")

    L.append("## 3. No-change cycle (`kayako-sync once` again)\n")
    L.append(f"Wall {nc['wall_s']} s, CPU {nc['cpu_s']} s, peak RSS {mib(nc.get('peak_rss_mib'))}, "
             f"{nc['requests']} requests, {nc['versions_added']} mirror versions and "
             f"{nc['feed_rows_added']} feed rows added; tuples written (pg_stat_user_tables): "
             f"{nc['tuples_written'] or 'none'}. Requests: "
             + ", ".join(f"{k} {v}" for k, v in nc["requests_by_endpoint"].items()) + ".\n")
    L.append("`once` runs the full user scan and the reconciler only when due (their interval since "
             "their last complete run, 1 day; the backfill's `once` ran both); each stream alone "
             "(`once --stream NAME`, nothing changed; the full user scan forced with `--full`):\n")
    L.append("| stream | requests | wall s | peak RSS | requests by endpoint |\n|---|---|---|---|---|")
    for s, v in r["no_change_per_stream"].items():
        L.append(f"| {s} | {v['requests']} | {v['wall_s']} | {mib(v.get('peak_rss_mib'))} | "
                 + ", ".join(f"{k} {n}" for k, n in v["by_endpoint"].items()) + " |")
    L.append("")
    L.append("## 4. Incremental cycle (1% of tickets and users changed)\n")
    extra = inc["requests"] - nc["requests"]
    L.append(f"{inc['changed_tickets']:,} tickets (subject) and {inc['changed_users']:,} users (full name) "
             f"changed through `/_control`, then `once`: wall {inc['wall_s']} s, CPU {inc['cpu_s']} s, "
             f"peak RSS {mib(inc.get('peak_rss_mib'))}, "
             f"{inc['requests']:,} requests = {inc['requests'] / changed:.2f} per changed object "
             f"({extra:,} more than the no-change cycle: {extra / changed:.2f} per changed object); "
             f"{inc['versions_added']:,} mirror versions and {inc['feed_rows_added']:,} feed rows added. "
             "Requests: " + ", ".join(f"{k} {v:,}" for k, v in inc["requests_by_endpoint"].items()) + ".\n")
    L.append("## 5. Push-back\n")
    L.append(f"- Drain: {pd['queued']:,} ticket updates queued by `UPDATE kayako.tickets SET subject = …` "
             f"in batches of {r.get('push_batch', 1000)} ({pd['queue_s']} s), then `kayako-sync once --stream push`: "
             f"{pd['puts']:,} PUTs in {pd['wall_s']} s = **{pd['put_per_s']} PUT/s**, CPU {pd['cpu_s']} s, "
             f"peak RSS {mib(pd.get('peak_rss_mib'))}; outbox states {pd['states']}.")
    L.append(f"- Latency: `kayako-sync run` running, {pl['updates']:,} updates committed in batches of "
             f"{pl['batch']}, {pl['updates'] / pl['fed_s']:.0f}/s (target {pl['target_rate_per_s']:.0f}/s; "
             f"{pl['fed_s']} s to feed, all done after "
             f"{pl['drained_s']} s); `done_at - created_at` over {pl['done']:,} done rows: "
             f"p50 **{pl['latency_p50_s']} s**, p99 **{pl['latency_p99_s']} s**, max {pl['latency_max_s']} s; "
             f"daemon CPU {pl['daemon_cpu_s']} s, peak RSS {pl['daemon_peak_rss_mib']} MiB.")
    lo = r["push_latency_low"]
    L.append(f"- Latency at a lower rate: {lo['updates']:,} updates, one per commit (one psql each), "
             f"{lo['updates'] / lo['fed_s']:.1f}/s (target {lo['target_rate_per_s']:.0f}/s): p50 **{lo['latency_p50_s']} s**, p99 **{lo['latency_p99_s']} s**, "
             f"max {lo['latency_max_s']} s ({lo['done']:,} done; {lo['fed_s']} s to feed, all done after "
             f"{lo['drained_s']} s).\n")
    L.append("## 6. Peak RSS by size\n")
    L.append("| tickets | users | backfill wall s | objects/s | peak RSS MiB |\n|---|---|---|---|---|")
    for s in r["rss_sizes"]:
        L.append(f"| {s['tickets']:,} | {s['users']:,} | {s['wall_s']} | {s['objects_per_s']:,.0f} | "
                 f"{s['peak_rss_mib']} |")
    L.append("")
    L.append("## Reproduce\n")
    L.append(f"```sh\n{r['command']}\n```\n")
    # Findings written by hand (profiles, causes) live beside this script and follow the tables.
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "benchmarks-findings.md")
    if os.path.exists(notes):
        with open(notes) as f:
            L.append(f.read())
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    sys.exit(main())
