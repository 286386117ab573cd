#pragma once

// libpqxx is blocking: it runs here, on a small thread pool with one strand per connection
// (style.md §2.3). Callers co_await run(...) and resume on their own executor; the event loop
// never blocks. libpqxx types stay inside connectors/postgres.

#include "connectors/postgres/connection.hpp"
#include "connectors/postgres/errors.hpp"

#include <spdlog/logger.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pqxx/connection>
#include <pqxx/except>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <type_traits>
#include <vector>

namespace ksync::pg {

struct executor_options {
    std::size_t connections = 1;  // one slot serialises every write: one ordering to reason about
    // A job that fails with a broken connection is rerun on a fresh connection, after a backoff
    // that doubles from initial_backoff up to max_backoff, at most max_attempts times in all.
    // Jobs are whole transactions, so a rerun is safe; a COMMIT in doubt is never rerun.
    int max_attempts = 5;
    std::chrono::milliseconds initial_backoff{200};
    std::chrono::milliseconds max_backoff{10000};
};

class db_executor {
public:
    db_executor(connection_options conn, executor_options opts,
                std::shared_ptr<spdlog::logger> log);
    ~db_executor();
    db_executor(const db_executor&) = delete;
    db_executor& operator=(const db_executor&) = delete;

    [[nodiscard]] std::size_t size() const noexcept { return slots_.size(); }
    [[nodiscard]] const executor_options& options() const noexcept { return opts_; }

    // Runs f(pqxx::connection&) on some connection's strand.
    template <class F>
    auto run(F f) -> boost::asio::awaitable<std::invoke_result_t<F&, pqxx::connection&>> {
        const std::size_t i = next_++ % slots_.size();
        co_return co_await run_on(i, std::move(f));
    }

    // Runs f on connection `index` (the writer and the leader lock live on slot 0).
    template <class F>
    auto run_on(std::size_t index, F f)
        -> boost::asio::awaitable<std::invoke_result_t<F&, pqxx::connection&>> {
        using R = std::invoke_result_t<F&, pqxx::connection&>;
        slot& s = *slots_.at(index);
        auto backoff = opts_.initial_backoff;
        for (int attempt = 1;; ++attempt) {
            bool lost = false;
            try {
                auto job = [&s, &f]() -> boost::asio::awaitable<R> { co_return invoke(s, f); };
                // The job gets an empty cancellation slot: otherwise co_spawn forwards the caller's
                // slot, and a cancellation emitted on the io thread (SIGTERM, a timeout) would run
                // the handler installed by the job's own awaits on the pool thread, racing its
                // emplacement (UBSan saw a half-built cancellation_handler). A job is one short
                // transaction; the caller waits for it and then sees the cancellation.
                auto token = boost::asio::bind_cancellation_slot(boost::asio::cancellation_slot(),
                                                                 boost::asio::use_awaitable);
                co_return co_await boost::asio::co_spawn(s.strand, std::move(job), token);
            } catch (const connection_lost& e) {
                if (attempt >= opts_.max_attempts) throw;
                log_retry(attempt, e.what());
                lost = true;
            }
            if (lost) {  // no co_await inside a handler
                boost::asio::steady_timer t{co_await boost::asio::this_coro::executor, backoff};
                co_await t.async_wait(boost::asio::use_awaitable);
                backoff = std::min(backoff * 2, opts_.max_backoff);
            }
        }
    }

    // For code that is not on an event loop (the CLI's migrate, benchmarks): blocks the caller.
    template <class F>
    auto run_blocking(std::size_t index, F f) -> std::invoke_result_t<F&, pqxx::connection&> {
        slot& s = *slots_.at(index);
        std::packaged_task<std::invoke_result_t<F&, pqxx::connection&>()> task{
            [&s, &f] { return invoke(s, f); }};
        auto fut = task.get_future();
        boost::asio::post(s.strand, [&task] { task(); });
        return fut.get();
    }

private:
    struct slot {
        slot(boost::asio::thread_pool& pool, const connection_options& o)
            : strand(pool.get_executor()), opts(o) {}
        boost::asio::strand<boost::asio::thread_pool::executor_type> strand;
        const connection_options& opts;
        std::unique_ptr<pqxx::connection> conn;
        pqxx::connection& connection();  // (re)connects lazily, on the strand
        void reset() noexcept;
    };

    // Translates libpqxx failures into this library's errors; a broken connection is dropped so
    // the next job reconnects (and re-creates its temp tables).
    template <class F>
    static auto invoke(slot& s, F& f) -> std::invoke_result_t<F&, pqxx::connection&> {
        try {
            return f(s.connection());
        } catch (const pqxx::in_doubt_error& e) {
            s.reset();
            throw commit_unknown(std::string("commit outcome unknown: ") + e.what());
        } catch (const pqxx::broken_connection& e) {
            s.reset();
            throw connection_lost(std::string("database connection lost: ") + e.what());
        } catch (const pqxx::sql_error& e) {
            // 57P01..: the server is terminating this session; class 08: connection exceptions.
            const std::string state = e.sqlstate();
            if (state.rfind("57P", 0) == 0 || state.rfind("08", 0) == 0) {
                s.reset();
                throw connection_lost(std::string("database connection lost: ") + e.what(), state);
            }
            throw db_error(e.what(), state);
        }
    }

    void log_retry(int attempt, const char* what);

    connection_options conn_opts_;
    executor_options opts_;
    std::shared_ptr<spdlog::logger> log_;
    boost::asio::thread_pool pool_;
    std::vector<std::unique_ptr<slot>> slots_;
    std::atomic<std::size_t> next_{0};
};

}  // namespace ksync::pg
