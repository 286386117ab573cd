#include "daemon/operations.hpp"

#include "connectors/kayako/xml.hpp"
#include "connectors/postgres/migrator.hpp"
#include "daemon/composition.hpp"
#include "daemon/metrics.hpp"
#include "daemon/ops_endpoint.hpp"
#include "daemon/push/fields.hpp"
#include "daemon/push/requests.hpp"
#include "daemon/push/worker.hpp"
#include "daemon/runtime/runtime.hpp"

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>

#include <unistd.h>

namespace ksync::app {

namespace asio = boost::asio;

namespace {

logging::factory make_logs(const config::config& cfg) {
    return logging::factory(config::logging_options(cfg.log, logging::journald_attached()));
}

// Runs one coroutine to completion on a private io_context (commands that are not the daemon).
template <class T>
T run_to_completion(asio::io_context& ioc, asio::awaitable<T> aw) {
    auto fut = asio::co_spawn(ioc, std::move(aw), asio::use_future);
    ioc.run();
    return fut.get();
}

std::string describe(const sync::stream_report& r) {
    std::string s =
        fmt::format("{}: {} inserted, {} updated, {} deleted, {} unchanged", r.stream,
                    r.applied.inserted, r.applied.updated, r.applied.deleted, r.applied.unchanged);
    if (r.detail_fetches) s += fmt::format(", {} tickets fetched in detail", r.detail_fetches);
    if (r.quarantined) s += fmt::format(", {} quarantined", r.quarantined);
    if (r.refused_deletes)
        s += fmt::format(", {} deletions refused by the guard", r.refused_deletes);
    if (!r.note.empty()) s += " (" + r.note + ")";
    return s;
}

// Crash tests: KSYNC_FAILPOINT=<point>[:<n>] ends the process abruptly (_exit(137): no destructor,
// no flush, no rollback sent, like kill -9) the n-th time (default 1) this process passes <point>.
// Every point, in the order a sync page or a push passes them (tests/e2e/crash_loop_e2e_test.cpp
// picks from this list; keep the two in step):
//   sync engine (daemon/sync/engine.cpp): after a list or page is fetched and decoded, before any
//   write; and after its write committed
//     lookup_list_fetched, lookup_list_applied          (each lookup list: departments, ...)
//     organization_list_fetched, organization_list_applied
//     user_page_fetched, user_page_applied              (new-user and full scans)
//     ticket_page_fetched                               (backfill and incremental pages)
//     ticket_details_fetched                            (Gets of changed tickets; nothing written)
//     ticket_children_applied                           (posts and notes committed, tickets not)
//     ticket_page_applied                               (tickets and cursor committed)
//     ticket_watermark_applied                          (an incremental pass's watermark)
//     (the backfill overlaps pages: page k+1's ticket_page_fetched and ticket_details_fetched
//     come while page k's write runs: before, between or after its two *_applied points)
//     reconcile_page_fetched
//     deletions_confirmed, deletions_applied            (confirmed deletions, before and after)
//   inside every mirror write transaction, on the database thread (mirror_repository test hook;
//   push results too):
//     mirror_staged                                     (rows COPYed, nothing upserted yet)
//     mirror_before_commit                              (upserted, feed and cursor written)
//   push worker (daemon/push/worker.cpp):
//     push_claimed                                      (claim committed, nothing sent)
//     push_searched                                     (a creation that may have been sent:
//                                                        Kayako searched, nothing found yet sent)
//     push_sent                                         (Kayako answered, nothing recorded)
//     push_recorded                                     (result committed)
// Each component gets its own counter, so <n> counts the passes of that one point.
std::function<void(std::string_view)> failpoint_from_env() {
    const char* spec = std::getenv("KSYNC_FAILPOINT");
    if (!spec || !*spec) return {};
    std::string s(spec);
    std::string point = s;
    int nth = 1;
    if (auto colon = s.find(':'); colon != std::string::npos) {
        point = s.substr(0, colon);
        nth = std::max(1, std::atoi(s.c_str() + colon + 1));
    }
    // Atomic: the mirror's points run on database threads.
    auto hits = std::make_shared<std::atomic<int>>(0);
    return [point, nth, hits](std::string_view at) {
        if (at == point && ++*hits == nth) ::_exit(137);
    };
}

void install_failpoint(sync::engine& engine) {
    if (auto fp = failpoint_from_env()) engine.set_failpoint(std::move(fp));
}

void install_failpoint(pg::mirror_repository& mirror) {
    if (auto fp = failpoint_from_env())
        mirror.set_test_hook([fp](std::string_view at, int) { fp("mirror_" + std::string(at)); });
}

void install_failpoint(push::worker& worker) {
    if (auto fp = failpoint_from_env())
        worker.set_failpoint([fp](std::string_view at) { fp("push_" + std::string(at)); });
}

void install_failpoints(stack& s) {
    install_failpoint(s.engine);
    install_failpoint(s.mirror);
}

struct leadership {
    static constexpr std::chrono::seconds poll{5};  // a standby takes over within about this
    bool leader = false;
};

// A stream run's outcome in its cursor row: the error of a failed run (what `status` shows, and
// kayako_sync_stream_error in /metrics) until a run of that stream succeeds. Only rows that exist
// are touched (a row without a cursor would not parse). Best effort: the database may be what
// failed, and the run's own exception is what the scheduler logs and backs off on.
asio::awaitable<void> run_recorded(pg::db_executor& db, std::string state, std::string stream,
                                   std::shared_ptr<leadership> lead, runtime::job_fn run) {
    std::exception_ptr failure;
    std::string error;
    try {
        co_await run();
    } catch (const boost::system::system_error& e) {
        if (e.code() == asio::error::operation_aborted) throw;  // shutdown: not a failure
        failure = std::current_exception();
        error = e.what();
    } catch (const std::exception& e) {
        failure = std::current_exception();
        error = e.what();
    } catch (...) {
        failure = std::current_exception();
        error = "unknown error";
    }
    if (lead->leader || failure) {
        if (error.size() > 2000) error.resize(2000);
        auto job = [state, stream, error](pqxx::connection& c) {
            pqxx::work tx{c};
            const std::string table = tx.quote_name(state) + ".stream_cursors";
            if (error.empty())
                tx.exec_params("UPDATE " + table +
                                   " SET last_error = NULL, last_error_at = NULL"
                                   " WHERE stream = $1 AND last_error IS NOT NULL",
                               stream);
            else
                tx.exec_params("UPDATE " + table +
                                   " SET last_error = $2, last_error_at = now() WHERE stream = $1",
                               stream, error);
            tx.commit();
        };
        try {
            co_await db.run_on(0, std::move(job));
        } catch (const std::exception&) {
            // not recorded; the log line of the failure remains
        }
    }
    if (failure) std::rethrow_exception(failure);
}

push::worker_options push_options_of(const config::config& cfg) {
    push::worker_options o;
    o.policy = cfg.push.on_conflict;
    o.sweep_interval =
        std::chrono::duration_cast<std::chrono::milliseconds>(cfg.push.sweep_interval);
    o.max_attempts = cfg.push.max_attempts;
    o.concurrency = static_cast<std::size_t>(cfg.push.concurrency);
    return o;
}

// `status`: when the slow streams last completed and when they are due again (their cursor rows
// hold the completion times, unix seconds by the daemon's clock).
std::string slow_stream_lines(pqxx::transaction_base& tx, const std::string& st,
                              const config::config& cfg) {
    const auto seconds = [](auto d) {
        return std::chrono::duration_cast<std::chrono::seconds>(d).count();
    };
    const auto r = tx.exec_params(
        "SELECT (SELECT cursor->>'full_scan_marker' FROM " + st +
            ".stream_cursors WHERE stream = 'users'),"
            " (SELECT to_char(to_timestamp((cursor->>'last_full_scan')::bigint), "
            "'YYYY-MM-DD HH24:MI:SS TZ') FROM " +
            st +
            ".stream_cursors WHERE stream = 'users' AND (cursor->>'last_full_scan')::bigint > 0),"
            " (SELECT to_char(to_timestamp((cursor->>'last_full_scan')::bigint + $1), "
            "'YYYY-MM-DD HH24:MI:SS TZ') FROM " +
            st +
            ".stream_cursors WHERE stream = 'users' AND (cursor->>'last_full_scan')::bigint > 0),"
            " (SELECT to_char(to_timestamp((cursor->>'last_run')::bigint), "
            "'YYYY-MM-DD HH24:MI:SS TZ') FROM " +
            st +
            ".stream_cursors WHERE stream = 'reconcile'),"
            " (SELECT to_char(to_timestamp((cursor->>'last_run')::bigint + $2), "
            "'YYYY-MM-DD HH24:MI:SS TZ') FROM " +
            st + ".stream_cursors WHERE stream = 'reconcile')",
        static_cast<long long>(seconds(cfg.streams.users.full_scan_interval)),
        static_cast<long long>(seconds(cfg.streams.reconcile.interval)))[0];
    std::string text = "full user scan: ";
    if (!cfg.streams.users.enabled)
        text += "off (streams.users.enabled: false)\n";
    else if (!r[0].is_null())
        text += fmt::format("in progress, resumes at user id {}\n", r[0].c_str());
    else if (r[1].is_null())
        text += "never completed; due at the next users run\n";
    else
        text += fmt::format("last completed {}, next due {}\n", r[1].c_str(), r[2].c_str());
    text += "reconcile: ";
    if (!cfg.streams.reconcile.enabled)
        text += "off (streams.reconcile.enabled: false)\n";
    else if (r[3].is_null())
        text += "never completed; due once the ticket backfill is complete\n";
    else
        text += fmt::format("last completed {}, next due {}\n", r[3].c_str(), r[4].c_str());
    return text;
}

// The daemon refuses a database whose schema is older or newer than this build.
void check_schema(stack& s, const config::config& cfg) {
    auto names = schema_names_of(cfg.postgres);
    auto job = [names](pqxx::connection& c) { pg::check_schema_version(c, names); };
    s.db.run_blocking(0, job);
}

}  // namespace

int do_migrate(const config::config& cfg, std::ostream& out, std::ostream& err) {
    try {
        const auto dir = find_migrations_dir();
        auto r =
            pg::migrate(pg_connection_options(cfg.postgres), dir, schema_names_of(cfg.postgres));
        if (r.applied.empty())
            out << "schema " << cfg.postgres.mirror_schema << "/" << cfg.postgres.state_schema
                << " is up to date (version " << r.version << ")\n";
        else
            for (int v : r.applied) out << "applied migration " << v << "\n";
        out << "schema version " << r.version << "\n";
        return 0;
    } catch (const std::exception& e) {
        err << "kayako-sync migrate: " << e.what() << "\n";
        return 1;
    }
}

int do_once(const config::config& cfg, const once_options& opts, std::ostream& out,
            std::ostream& err) {
    kayako::xml_init();
    auto logs = make_logs(cfg);
    asio::io_context ioc;
    try {
        stack s(cfg, ioc, logs);
        check_schema(s, cfg);
        install_failpoints(s);
        s.engine.set_allow_mass_delete(opts.allow_mass_delete);
        // Push-back is opt-in: `once` drains the outbox after the streams only when it is on.
        std::unique_ptr<push::worker> pusher;
        if (cfg.push.enabled) {
            pusher = std::make_unique<push::worker>(ioc.get_executor(), s.outbox, s.kayako,
                                                    push_options_of(cfg), logs.make("push"));
            install_failpoint(*pusher);
        }
        const auto start = std::chrono::steady_clock::now();
        auto want = [&](std::string_view name) {
            if (opts.streams.empty()) return true;
            return std::find(opts.streams.begin(), opts.streams.end(), name) != opts.streams.end();
        };
        bool syncs = opts.streams.empty();
        for (const auto& n : opts.streams) syncs = syncs || n != "push";
        auto pass = [&]() -> asio::awaitable<std::vector<sync::stream_report>> {
            std::vector<sync::stream_report> reports;
            // Only one process polls a helpdesk at a time (a running daemon holds the lock).
            bool leader = !syncs;
            if (syncs) leader = co_await s.mirror.try_acquire_leadership();
            if (!leader)
                throw std::runtime_error(
                    "another kayako-sync (a running daemon?) is the leader of " +
                    cfg.postgres.state_schema +
                    ": it holds the advisory lock; stop it first (`once --stream push` needs no "
                    "lock)");
            auto note = [&](sync::stream_report r) {
                if (opts.progress) {
                    const auto secs =
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                            .count();
                    out << fmt::format("[{:7.1f}s] ", secs) << describe(r) << std::endl;
                }
                reports.push_back(std::move(r));
            };
            if (want("lookups")) note(co_await s.engine.sync_lookups());
            if (want("organizations")) note(co_await s.engine.sync_organizations());
            // The slow streams run when due (or when forced: --full, reconcile by name).
            if (want("users")) {
                bool full_scan = opts.full;
                if (!full_scan) full_scan = co_await s.engine.full_user_scan_due();
                note(co_await s.engine.sync_users(full_scan));
            }
            if (want("tickets")) note(co_await s.engine.sync_tickets());
            if (want("reconcile")) {
                bool reconcile = opts.full || !opts.streams.empty();  // named: run it now
                if (!reconcile && cfg.streams.reconcile.enabled)
                    reconcile = co_await s.engine.reconcile_due();
                if (reconcile) note(co_await s.engine.reconcile_tickets());
            }
            if (pusher && want("push")) {
                const auto n = co_await pusher->drain();
                out << fmt::format(
                           "push: {} outbox rows handled ({} done, {} failed, {} in doubt, {} "
                           "held)",
                           n, pusher->stats().done, pusher->stats().failed,
                           pusher->stats().in_doubt, pusher->stats().held)
                    << std::endl;
            }
            co_return reports;
        };
        auto reports = run_to_completion(ioc, pass());
        bool refused = false;
        for (const auto& r : reports) {
            if (!opts.progress) out << describe(r) << "\n";
            refused = refused || r.refused_deletes > 0;
        }
        const auto secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        out << fmt::format("pass complete in {:.1f}s\n", secs);
        return refused ? 1 : 0;
    } catch (const std::exception& e) {
        err << "kayako-sync once: " << e.what() << "\n";
        return 1;
    }
}

int do_run(const config::config& cfg, const std::filesystem::path& config_path, std::ostream& err) {
    kayako::xml_init();
    auto logs = make_logs(cfg);
    auto log = logs.make("daemon");
    for (const auto& w : cfg.warnings) log->warn("{}", w);
    asio::io_context ioc;
    std::unique_ptr<stack> s;
    try {
        s = std::make_unique<stack>(cfg, ioc, logs);
        check_schema(*s, cfg);
        install_failpoints(*s);
    } catch (const std::exception& e) {
        err << "kayako-sync run: " << e.what() << "\n";
        return 1;
    }
    runtime::runtime_options ro;
    ro.shutdown_timeout = cfg.shutdown_timeout;
    runtime::runtime rt(ioc, ro, logs.make("scheduler"));

    auto schedule = [](const config::stream_options& so) {
        runtime::job_schedule js;
        js.interval = so.interval;
        js.jitter = so.interval.count() > 0
                        ? std::min(0.5, static_cast<double>(so.jitter.count()) /
                                            static_cast<double>(so.interval.count()))
                        : 0.0;
        return js;
    };
    // The reconciler's job only checks whether a run is due (one read of its cursor row): every
    // 5 minutes, or at its interval when that is shorter. The backfill must be complete first.
    auto reconcile_check = [schedule](const config::stream_options& so) {
        auto js = schedule(so);
        js.interval = std::min<std::chrono::milliseconds>(
            std::chrono::duration_cast<std::chrono::milliseconds>(so.interval),
            std::chrono::minutes(5));
        js.jitter = 0.1;
        return js;
    };
    auto& eng = s->engine;
    // Leadership (reliability.md §6): several daemons may serve one helpdesk; the one holding the
    // advisory lock (fenced in every write) polls Kayako, the others stand by, and all drain the
    // outbox. A stream job of a standby returns at once.
    auto lead = std::make_shared<leadership>();
    auto m = std::make_shared<metrics>();
    s->kayako.set_observer(
        [m](std::string_view method, const std::string& endpoint, int status, double seconds) {
            m->observe_request(method, endpoint, status, seconds);
        });
    // Each stream is one job; a failure backs that job off and never stops another.
    auto lookups = [&eng, lead, m]() -> asio::awaitable<void> {
        if (!lead->leader) co_return;
        auto report = co_await eng.sync_lookups();
        m->observe_stream(report);
    };
    auto organizations = [&eng, lead, m]() -> asio::awaitable<void> {
        if (!lead->leader) co_return;
        auto report = co_await eng.sync_organizations();
        m->observe_stream(report);
    };
    // New users every run; the full scan instead when its interval has passed since the last
    // complete one (recorded in the database, so a restart does not redo it).
    auto users = [&eng, lead, m]() -> asio::awaitable<void> {
        if (!lead->leader) co_return;
        const bool full_scan = co_await eng.full_user_scan_due();
        auto report = co_await eng.sync_users(full_scan);
        m->observe_stream(report);
    };
    auto tickets = [&eng, lead, m]() -> asio::awaitable<void> {
        if (!lead->leader) co_return;
        auto report = co_await eng.sync_tickets();
        m->observe_stream(report);
    };
    // Checked every few minutes; runs when its interval has passed since the last complete run.
    auto reconcile = [&eng, lead, m]() -> asio::awaitable<void> {
        if (!lead->leader) co_return;
        if (!co_await eng.reconcile_due()) co_return;
        auto report = co_await eng.reconcile_tickets();
        m->observe_stream(report);
    };
    auto recorded = [db = &s->db, state = schema_names_of(cfg.postgres).state, lead](
                        std::string stream, runtime::job_fn run) -> runtime::job_fn {
        return [db, state, lead, stream, run]() {
            return run_recorded(*db, state, stream, lead, run);
        };
    };
    const auto& st = cfg.streams;
    std::vector<std::string> start_jobs;  // run at once when this daemon becomes the leader
    if (st.lookups.enabled) {
        rt.add_job("lookups", schedule(st.lookups), recorded("lookups", lookups));
        start_jobs.push_back("lookups");
    }
    if (st.organizations.enabled) {
        rt.add_job("organizations", schedule(st.organizations),
                   recorded("organizations", organizations));
        start_jobs.push_back("organizations");
    }
    if (st.users.enabled) {
        rt.add_job("users", schedule(st.users), recorded("users", users));
        start_jobs.push_back("users");
    }
    if (st.tickets.enabled) {
        rt.add_job("tickets", schedule(st.tickets), recorded("tickets", tickets));
        start_jobs.push_back("tickets");
    }
    if (st.reconcile.enabled) {
        rt.add_job("reconcile", reconcile_check(st.reconcile), recorded("reconcile", reconcile));
        start_jobs.push_back("reconcile");
    }
    auto* mirror = &s->mirror;
    auto lead_log = logs.make("leader");
    auto leadership_loop = [&rt, mirror, lead, lead_log, start_jobs]() -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        bool said_standby = false;
        for (;;) {
            std::string problem;
            try {
                bool held = lead->leader;
                if (held) held = co_await mirror->leadership_held();
                if (lead->leader && !held) {
                    lead->leader = false;
                    lead_log->warn(
                        "lost the leadership (the database session holding the lock "
                        "ended); syncing stops until it is taken again");
                    rt.refresh_status(true);
                }
                bool acquired = false;
                if (!lead->leader) acquired = co_await mirror->try_acquire_leadership();
                if (acquired) {
                    lead->leader = true;
                    said_standby = false;
                    lead_log->info("this daemon is the leader: polling Kayako");
                    for (const auto& j : start_jobs) rt.run_now(j);
                    rt.refresh_status(true);
                } else if (!lead->leader && !said_standby) {
                    said_standby = true;
                    lead_log->info(
                        "another daemon is the leader: standing by (push-back still "
                        "runs here), trying every {} s",
                        leadership::poll.count());
                    rt.refresh_status(true);
                }
            } catch (const std::exception& e) {
                problem = e.what();
            }
            if (!problem.empty()) lead_log->warn("leadership check failed: {}", problem);
            timer.expires_after(leadership::poll);
            co_await timer.async_wait(asio::use_awaitable);
        }
    };
    rt.spawn("leadership", leadership_loop, /*critical=*/true);
    // Push-back: woken by the outbox's NOTIFY (its own LISTEN connection), swept periodically.
    std::unique_ptr<push::worker> pusher;
    if (cfg.push.enabled) {
        pusher = std::make_unique<push::worker>(ioc.get_executor(), s->outbox, s->kayako,
                                                push_options_of(cfg), logs.make("push"));
        install_failpoint(*pusher);
        pusher->listen(pg_connection_options(cfg.postgres),
                       pg::push_channel(schema_names_of(cfg.postgres)));
        auto* p = pusher.get();
        rt.spawn(
            "push", [p]() { return p->run(); }, /*critical=*/true);
    } else {
        log->info("push-back is off (push.enabled: false): local edits stay queued in the outbox");
    }
    if (cfg.metrics.enabled) {
        // /metrics, /healthz (the event loop answers), /readyz (database reachable, schema right).
        auto* stk = s.get();
        const auto names = schema_names_of(cfg.postgres);
        const push::worker_stats* push_stats = pusher ? &pusher->stats() : nullptr;
        ops_handler handler = [m, stk, lead, names,
                               push_stats](std::string path) -> asio::awaitable<ops_response> {
            ops_response r;
            if (path == "/healthz") {
                r.body = "ok\n";
                co_return r;
            }
            std::string problem;
            if (path == "/readyz") {
                try {
                    auto check = [names](pqxx::connection& c) {
                        pg::check_schema_version(c, names);
                    };
                    co_await stk->db.run(check);
                } catch (const std::exception& e) {
                    problem = e.what();
                }
                r.status = problem.empty() ? 200 : 503;
                r.body = problem.empty() ? (lead->leader ? "ready: leader\n" : "ready: standby\n")
                                         : "not ready: " + problem + "\n";
                co_return r;
            }
            if (path == "/metrics") {
                try {
                    r.body =
                        co_await m->render(stk->db, names, stk->kayako, push_stats, lead->leader);
                    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                } catch (const std::exception& e) {
                    problem = e.what();
                }
                if (!problem.empty()) {
                    r.status = 503;
                    r.body = "metrics unavailable: " + problem + "\n";
                }
                co_return r;
            }
            r.status = 404;
            r.body = "not found (try /metrics, /healthz, /readyz)\n";
            co_return r;
        };
        auto ops_log = logs.make("ops");
        auto host = cfg.metrics.listen_host;
        auto port = cfg.metrics.listen_port;
        rt.spawn("ops-endpoint", [host, port, handler, ops_log]() {
            return serve_ops_endpoint(host, port, handler, ops_log);
        });
    }
    auto* kayako = &s->kayako;
    rt.set_status_provider([kayako, lead]() -> std::string {
        if (!lead->leader) return "standby (another daemon is the leader)";
        const auto st_ = kayako->breaker_state();
        if (st_ == kayako::circuit_breaker::state::closed) return "";
        const auto wait = std::chrono::duration_cast<std::chrono::seconds>(
            kayako->breaker().retry_at() - kayako::circuit_breaker::clock::now());
        return fmt::format("Kayako circuit breaker {} (retry in {}s)", kayako::to_string(st_),
                           std::max<long long>(0, wait.count()));
    });
    // A reload re-reads the file; intervals apply at once. Connection settings need a restart,
    // and a broken file keeps the running config.
    rt.on_reload([&rt, &eng, config_path, schedule, reconcile_check]() -> runtime::reload_result {
        try {
            auto next = config::load_config(config_path);
            const auto& ns = next.streams;
            rt.update_schedule("lookups", schedule(ns.lookups));
            rt.update_schedule("organizations", schedule(ns.organizations));
            rt.update_schedule("users", schedule(ns.users));
            rt.update_schedule("tickets", schedule(ns.tickets));
            rt.update_schedule("reconcile", reconcile_check(ns.reconcile));
            const auto seconds = [](auto d) {
                return std::chrono::duration_cast<std::chrono::seconds>(d).count();
            };
            eng.set_slow_intervals(seconds(ns.users.full_scan_interval),
                                   seconds(ns.reconcile.interval));
            return runtime::reload_result::success("stream intervals reloaded");
        } catch (const std::exception& e) {
            return runtime::reload_result::failure(e.what());
        }
    });
    // READY: config, secrets, database and schema are checked; Kayako is not waited for.
    rt.notify_ready();
    log->info("kayako-sync running for {} (mirror schema {}, state schema {})", cfg.kayako.base_url,
              cfg.postgres.mirror_schema, cfg.postgres.state_schema);
    const int code = rt.run();
    if (rt.abandoned_work()) {
        // Work that ignored the shutdown is still in flight. Running destructors now would join
        // a database thread blocked in libpq (hanging past the timeout systemd was promised) or
        // destroy the Kayako client before the coroutine frames that hold its pacer permits
        // (a use after free when the io_context goes last). Exit as kill -9 would: every write
        // is transactional, the server rolls back what was open, and the next start resumes.
        std::fflush(nullptr);
        std::_Exit(code);
    }
    return code;
}

int do_status(const config::config& cfg, bool json, std::ostream& out, std::ostream& err) {
    try {
        auto names = schema_names_of(cfg.postgres);
        pg::db_executor db(pg_connection_options(cfg.postgres), pg::executor_options{},
                           logging::null_logger());
        auto job = [names, json, &cfg](pqxx::connection& c) {
            const int version = pg::schema_version(c, names);
            pqxx::read_transaction tx{c};
            std::string problem =
                pg::schema_version_problem(version, pg::expected_schema_version, names);
            const std::string st = tx.quote_name(names.state);
            std::string text;
            if (json) {
                text = tx.exec1(
                             "SELECT json_build_object("
                             "'schema_version', " +
                             std::to_string(version) +
                             ", "
                             "'schema_problem', " +
                             tx.quote(problem) +
                             ", "
                             "'streams', COALESCE((SELECT json_agg(json_build_object('stream', "
                             "stream, 'cursor', cursor, "
                             "'last_success_at', last_success_at, 'lag_seconds', extract(epoch "
                             "FROM now() - last_success_at)::bigint, "
                             "'rows_written', rows_written, 'last_error', last_error) ORDER BY "
                             "stream) FROM " +
                             st +
                             ".stream_cursors), '[]'), "
                             "'quarantined', (SELECT count(*) FROM " +
                             st +
                             ".quarantine), "
                             "'feed_position', (SELECT COALESCE(max(position), 0) FROM " +
                             st +
                             ".changes), "
                             "'outbox', COALESCE((SELECT json_object_agg(state, n) FROM (SELECT "
                             "state, count(*) n FROM " +
                             st +
                             ".outbox GROUP BY state) o), '{}'), "
                             "'conflicts', (SELECT count(*) FROM " +
                             st + ".conflicts))::text")[0]
                           .as<std::string>() +
                       "\n";
                return text;
            }
            text += fmt::format("schema version {}{}\n\n", version,
                                problem.empty() ? "" : " — " + problem);
            text += fmt::format("{:<16} {:<22} {:>8} {:>10}  {}\n", "stream", "last success", "lag",
                                "rows", "last error / cursor");
            for (const auto& r : tx.exec("SELECT stream, COALESCE(to_char(last_success_at, "
                                         "'YYYY-MM-DD HH24:MI:SS'), '-'), "
                                         "COALESCE(extract(epoch FROM now() - "
                                         "last_success_at)::bigint::text || 's', '-'), "
                                         "rows_written, COALESCE(last_error, cursor::text) FROM " +
                                         st + ".stream_cursors ORDER BY stream"))
                text += fmt::format("{:<16} {:<22} {:>8} {:>10}  {}\n", r[0].c_str(), r[1].c_str(),
                                    r[2].c_str(), r[3].c_str(), r[4].c_str());
            text += "\n" + slow_stream_lines(tx, st, cfg);
            text += fmt::format("\nquarantined objects: {}\n",
                                tx.exec1("SELECT count(*) FROM " + st + ".quarantine")[0].c_str());
            text += fmt::format(
                "feed position: {}\n",
                tx.exec1("SELECT COALESCE(max(position), 0) FROM " + st + ".changes")[0].c_str());
            std::string outbox;
            for (const auto& r : tx.exec("SELECT state, count(*) FROM " + st +
                                         ".outbox GROUP BY state ORDER BY state"))
                outbox +=
                    fmt::format("{}{}={}", outbox.empty() ? "" : ", ", r[0].c_str(), r[1].c_str());
            text += fmt::format("outbox: {}\n", outbox.empty() ? "empty" : outbox);
            text += fmt::format("conflicts: {}\n",
                                tx.exec1("SELECT count(*) FROM " + st + ".conflicts")[0].c_str());
            return text;
        };
        out << db.run_blocking(0, job);
        return 0;
    } catch (const std::exception& e) {
        err << "kayako-sync status: " << e.what() << "\n";
        return 1;
    }
}

int do_reset_cursor(const config::config& cfg, const std::string& stream, std::ostream& out,
                    std::ostream& err) {
    try {
        auto names = schema_names_of(cfg.postgres);
        pg::db_executor db(pg_connection_options(cfg.postgres), pg::executor_options{},
                           logging::null_logger());
        auto job = [names, stream](pqxx::connection& c) {
            pqxx::work tx{c};
            auto r = tx.exec_params(
                "DELETE FROM " + tx.quote_name(names.state) + ".stream_cursors WHERE stream = $1",
                stream);
            tx.commit();
            return r.affected_rows();
        };
        const auto n = db.run_blocking(0, job);
        out << (n ? "cursor of stream " + stream + " removed: the next run starts it from scratch\n"
                  : "stream " + stream + " had no cursor\n");
        return 0;
    } catch (const std::exception& e) {
        err << "kayako-sync: " << e.what() << "\n";
        return 1;
    }
}

int do_feed_bookmark(const config::config& cfg, const std::string& name,
                     const std::string* position, std::ostream& out, std::ostream& err) {
    try {
        pg::db_executor db(pg_connection_options(cfg.postgres), pg::executor_options{},
                           logging::null_logger());
        pg::mirror_repository mirror(db, schema_names_of(cfg.postgres), logging::null_logger());
        asio::io_context ioc;
        if (position) {
            const auto pos = std::stoll(*position);
            run_to_completion(ioc, mirror.set_bookmark(name, pos));
            out << "bookmark " << name << " = " << pos << "\n";
        } else {
            auto b = run_to_completion(ioc, mirror.bookmark(name));
            if (!b) {
                err << "kayako-sync feed: no bookmark named " << name << "\n";
                return 1;
            }
            out << *b << "\n";
        }
        return 0;
    } catch (const std::exception& e) {
        err << "kayako-sync feed: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace ksync::app

namespace ksync::app {

namespace {

// The call a pending row would make, before the conflict check against Kayako's current object
// (which may drop columns that Kayako changed too, under kayako_wins).
std::string dry_run_line(const pg::outbox_row& row) {
    using namespace push;
    const auto e = pg::entity_from_name(row.entity);
    if (!e) return "(unknown entity " + row.entity + ")";
    if (row.operation == "update") {
        const auto local = parse_values(*e, row.new_values);
        field_values send;
        for (const auto& c : row.changed_columns)
            if (local.count(c)) send.emplace(c, local.at(c));
        const std::string id = std::to_string(row.object_id.value_or(0));
        if (*e == pg::entity::tickets)
            return describe_call("PUT", "/Tickets/Ticket/" + id,
                                 kayako::ticket_update_fields(to_ticket_update(send)));
        if (*e == pg::entity::users) {
            if (!send.count("full_name")) send.emplace("full_name", local.at("full_name"));
            return describe_call("PUT", "/Base/User/" + id,
                                 kayako::user_update_fields(to_user_update(send)));
        }
        return describe_call("PUT", "/Base/UserOrganization/" + id,
                             kayako::organization_fields_params(to_organization_fields(local)));
    }
    const auto intake = parse_object(row.new_values);
    std::string search = row.maybe_sent ? "search Kayako for an earlier POST, then if none: " : "";
    if (row.entity == "tickets")
        return search + describe_call("POST", "/Tickets/Ticket",
                                      kayako::ticket_create_fields(ticket_from_intake(intake)));
    if (row.entity == "posts" || row.entity == "notes") {
        std::optional<std::int64_t> intake_ticket;
        const auto ticket = intake_target_ticket(intake, &intake_ticket);
        // The ticket id is known once its intake ticket is created; 0 stands in for it here.
        const kayako::id_t tid = ticket.value_or(0);
        std::string line =
            row.entity == "posts"
                ? describe_call("POST", "/Tickets/TicketPost",
                                kayako::post_create_fields(post_from_intake(intake, tid)))
                : describe_call("POST", "/Tickets/TicketNote",
                                kayako::note_create_fields(note_from_intake(intake, tid)));
        if (!ticket && intake_ticket)
            line += "   (ticketid: the id Kayako gives intake ticket " +
                    std::to_string(*intake_ticket) + ")";
        return search + line;
    }
    if (row.entity == "users")
        return search + describe_call("POST", "/Base/User",
                                      kayako::user_create_fields(
                                          user_from_intake(intake, ksync::secret("x"))));
    if (row.entity == "organizations")
        return search +
               describe_call("POST", "/Base/UserOrganization",
                             kayako::organization_fields_params(organization_from_intake(intake)));
    return "(" + row.operation + " of " + row.entity + " is not pushed)";
}

}  // namespace

int do_outbox(const config::config& cfg, const std::string& action, std::int64_t id,
              std::ostream& out, std::ostream& err) {
    asio::io_context ioc;
    auto logs = make_logs(cfg);
    try {
        stack s(cfg, ioc, logs);
        check_schema(s, cfg);
        if (action == "retry" || action == "discard") {
            const bool ok = run_to_completion(
                ioc, action == "retry" ? s.outbox.retry(id) : s.outbox.discard(id));
            if (!ok) {
                err << "kayako-sync outbox " << action << ": row " << id
                    << (action == "retry" ? " is not failed, in_doubt or held\n"
                                          : " does not exist or is already finished\n");
                return 1;
            }
            out << "outbox row " << id << (action == "retry" ? " queued again\n" : " discarded\n");
            return 0;
        }
        const auto rows = run_to_completion(ioc, s.outbox.list(false, 10000));
        if (action == "dry-run") {
            std::size_t n = 0;
            for (const auto& r : rows) {
                if (r.state != "pending" && r.state != "sending") continue;
                ++n;
                std::string line;
                try {
                    line = dry_run_line(r);
                } catch (const std::exception& e) {
                    line = std::string("(cannot be sent: ") + e.what() + ")";
                }
                out << "#" << r.id << " " << line << "\n";
            }
            out << n << " call(s) would be made"
                << (cfg.push.enabled ? "" : " (push.enabled is false: none will be)") << "\n";
            return 0;
        }
        if (rows.empty()) {
            out << "outbox: nothing waiting\n";
            return 0;
        }
        out << fmt::format("{:>8}  {:<9} {:<7} {:<14} {:>10} {:>8}  {}\n", "ID", "STATE", "OP",
                           "ENTITY", "OBJECT", "ATTEMPTS", "LAST ERROR");
        for (const auto& r : rows) {
            const std::string object = r.object_id ? std::to_string(*r.object_id)
                                       : r.remote_id
                                           ? std::to_string(*r.remote_id)
                                           : "intake " + std::to_string(r.intake_id.value_or(0));
            out << fmt::format("{:>8}  {:<9} {:<7} {:<14} {:>10} {:>8}  {}\n", r.id, r.state,
                               r.operation, r.entity, object, r.attempts, r.last_error);
        }
        return 0;
    } catch (const std::exception& e) {
        err << "kayako-sync outbox: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace ksync::app
