-- Push-back throughput (issue 14): an index of the outbox rows that are still open, in queue
-- order. Done rows stay in the outbox (they are its history), and the claim walked every one of
-- them in id order before reaching the first open row (0002's pending index is ordered by
-- next_attempt_at, so it cannot serve ORDER BY id LIMIT n); the sweep found the held rows by a
-- full scan too. With this index both cost what the open rows cost, however long the history.
CREATE INDEX outbox_queue_idx ON {{state}}.outbox (id) WHERE state IN ('pending', 'sending', 'held');
COMMENT ON INDEX {{state}}.outbox_queue_idx IS 'Open outbox rows in queue order: the push worker claims from it.';
