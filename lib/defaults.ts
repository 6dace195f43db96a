// Every tunable default of the orchestrator, named once, with the reason for its value
// (docs/conventions.md §5). Inputs and CLI flags override them; nothing else hard-codes these numbers.

/** Source rows per chunk: one chunk = one activity = one PostgreSQL transaction. 5,000 measured on
 * 200,000 notes (README Benchmark): transfer 111 s against 163 s with 1,000-row chunks, history
 * 2,011 events per million rows against 7,956. The byte bound below still caps chunks of large rows. */
export const DEFAULT_CHUNK_ROWS = 5000;
/** The default of runs started before patch 'chunk-rows-5000' (workflows/migration.ts). */
export const LEGACY_DEFAULT_CHUNK_ROWS = 1000;
/** The range of chunk sizes accepted from input and the setChunkSize Update. */
export const MIN_CHUNK_ROWS = 1;
export const MAX_CHUNK_ROWS = 100_000;
/** Source bytes per chunk (summed octet_length of the columns a mapping reads), the second bound of a
 * chunk next to its rows. 16 MiB keeps a chunk's parameters (bytea sent as hex: ~2x, plus the
 * envelope and the bridge rows) in the tens of MiB per chunk in flight, far below V8's ~512 MiB
 * string limit that 1,000 notes of 300 KB crossed. */
export const DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024;
/** The range of chunk byte budgets accepted from input. The maximum keeps one chunk's hex-encoded
 * bytea[] parameter (2x the bytes) well under V8's string limit. */
export const MIN_CHUNK_BYTES = 64 * 1024;
export const MAX_CHUNK_BYTES = 128 * 1024 * 1024;
/** A single source row larger than this (summed octet_length of its columns) is quarantined as
 * ROW_TOO_LARGE without its content ever being read: such a row would be a one-row chunk of tens
 * of MiB of parameters, and the notes app itself never writes one. */
export const MAX_ROW_BYTES = 8 * 1024 * 1024;
/** JSON columns nested deeper than this are quarantined as INVALID_JSON before parsing: recursive
 * validation and serialization (here and in PostgreSQL's jsonb input) would overflow the stack. */
export const MAX_JSON_DEPTH = 512;
/** Chunk activities in flight per table (the bounded window). */
export const DEFAULT_PARALLELISM = 2;
/** Fraction of a table's source rows that may be quarantined before the run fails. */
export const DEFAULT_QUARANTINE_THRESHOLD = 0.01;
/** Rows per table deep-compared field by field (with decryption) during validation. */
export const DEFAULT_SAMPLE_SIZE = 100;
/** Chunks one transferTable execution runs before it continues as new (keeps history small). */
export const DEFAULT_CHUNKS_PER_EXECUTION = 200;
/** Chunk bounds planned per planning activity call (ids only; bounded payload). Small, so
 * setChunkSize takes effect within a few chunks. */
export const DEFAULT_PLAN_BATCH = 8;
/** Heartbeat timeout of long activities: a dead worker is noticed after this long. */
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 30_000;
/** Task queue the worker polls and the CLI starts workflows on. */
export const DEFAULT_TASK_QUEUE = 'migrations';
/** Temporal frontend when TEMPORAL_ADDRESS is not set. */
export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';
/** DDL waits at most this long for a lock, then retries: never queue behind app traffic. */
export const DEFAULT_LOCK_TIMEOUT_MS = 2_000;
/** Statement timeout for migration queries. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 300_000;
/** Timestamps later than (run start + this) are implausible (milliseconds stored as seconds). */
export const MAX_FUTURE_SKEW_SECONDS = 86_400;
/** Timestamps before this instant (1990-01-01T00:00:00Z) are implausible for a notes app. */
export const MIN_PLAUSIBLE_EPOCH_SECONDS = 631_152_000;
/** Validation tolerance between source and target timestamps. */
export const TIMESTAMP_TOLERANCE_MS = 1_000;
/** Where the worker writes backups when MIGRATOR_BACKUP_DIR is not set (relative to cwd). */
export const DEFAULT_BACKUP_DIR = 'var/backups';
/** Health guard: time between readings (one minute: a trigger rolls back within a minute of the app degrading). */
export const DEFAULT_HEALTH_INTERVAL_MS = 60_000;
/** Readings per run of the health guard child before it continues-as-new: ~11 history events per
 * reading keeps each run near 1,100 events, far under the 51,200 limit at any interval. */
export const GUARD_READINGS_PER_RUN = 100;
/** Health guard: how long it keeps watching after the last phase (0 = until the run ends). */
export const DEFAULT_SOAK_MS = 0;
/** Application error rate above which the guard rolls back (0.1 %). */
export const DEFAULT_ERROR_RATE_THRESHOLD = 0.001;
/** Probe latency above this multiple of the baseline rolls back (2x). */
export const DEFAULT_LATENCY_FACTOR = 2;
/** ...and only when it is also this many ms above the baseline: sub-millisecond baselines are noise. */
export const DEFAULT_MIN_LATENCY_DELTA_MS = 25;
/** Requests an interval needs before the error-rate trigger may fire. */
export const DEFAULT_MIN_SAMPLES = 100;
/** Probe runs whose median is the latency baseline. */
export const BASELINE_PROBE_RUNS = 5;
/** Pinned Temporal CLI version the setup script builds. */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

// Session settings of every migration connection (activities/deps.ts migrationConnectionConfig), sent as
// server-side `-c` options in the startup packet so they hold for every statement, survive `RESET ALL`
// (the session default is the startup value) and apply on the server even when the client is gone.
/** A transaction left idle this long is ended by the server: a worker host that died mid-chunk (its
 * transaction holding the lease row FOR SHARE) frees its locks after this, not after TCP notices (~2 h).
 * Generous next to a chunk's gaps between statements (milliseconds; encryption happens before BEGIN). */
export const DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;
/** Any lock wait of a migration statement ends after this: on a shared database the migration must
 * never queue behind (and so in front of) app traffic indefinitely. DDL sets its own, shorter one. */
export const DEFAULT_SESSION_LOCK_TIMEOUT_MS = 10_000;
/** Server-side TCP keepalives: first probe after this many idle seconds, then every interval, and the
 * server drops the connection after `count` unanswered probes (~2.5 min instead of the kernel's ~2 h). */
export const DEFAULT_TCP_KEEPALIVES_IDLE_S = 60;
export const DEFAULT_TCP_KEEPALIVES_INTERVAL_S = 10;
export const DEFAULT_TCP_KEEPALIVES_COUNT = 6;
/** Concurrent activity executions of a worker (the CLI's --max-activities); also sizes its pools. */
export const DEFAULT_ACTIVITY_CONCURRENCY = 8;
/** Connections a pool keeps beyond one per concurrent activity: an index build watches its own
 * statement from a second connection, and releaseLease names the blocker from one. */
export const POOL_HEADROOM = 2;
/** releaseLease: attempts, each waiting up to the session lock_timeout for chunk transactions holding
 * the lease row FOR SHARE. With the idle-in-transaction timeout (60 s) below attempts x lock_timeout
 * (8 x 10 s + backoff), a dead worker's transaction is ended before the last attempt. */
export const LEASE_RELEASE_ATTEMPTS = 8;
/** How often a long activity step heartbeats while it waits on a child, a query or a lock: well
 * under any sane heartbeat timeout (the SDK throttles to 80 % of it anyway). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1_000;
/** After SIGTERM, a cancelled child (pg_dump, pg_restore) gets this long to exit before SIGKILL. */
export const CHILD_KILL_GRACE_MS = 5_000;
/** Characters of a failed child's stderr kept in its error: enough for libpq's message, not a log. */
export const CHILD_STDERR_TAIL_CHARS = 600;
/** Free space a backup needs, as a multiple of the database (or source file) size. pg_dump -Fc
 * compresses and leaves out index contents, so a dump is usually far smaller; 1.2 still covers
 * incompressible data (bytea, already-compressed blobs) with a margin. */
export const BACKUP_SPACE_FACTOR = 1.2;
/** A backup filesystem with less free space than this is full: a dump step that failed on it is
 * reported as BackupDirectoryFull (pg_dump -Fc can exit 0 on ENOSPC, leaving a short file that only
 * the verification notices). 1 MiB: less than any dump's first write buffers, more than rounding. */
export const BACKUP_DIR_FULL_BYTES = 1 << 20;
/** A verified full backup of a target younger than this is shared by every run (and rollout) instead
 * of taking another: one dump per target per day bounds both the load on the primary and the disk a
 * 10,000-user rollout needs. Per target in the worker config (`fullBackupMaxAgeHours`). */
export const DEFAULT_FULL_BACKUP_MAX_AGE_HOURS = 24;
/** A pre-image needs this multiple of its rows' pg_column_size in free space: COPY text spells
 * bytea in hex (twice its size) and escapes control characters. */
export const PRE_IMAGE_SPACE_FACTOR = 2;
/** How often a run waiting for the full-backup or scratch advisory lock retries (heartbeating). */
export const BACKUP_LOCK_POLL_MS = 1_000;
/** How often the index builder retries pg_try_advisory_lock while another run builds indexes. */
export const INDEX_LOCK_POLL_MS = 500;
/** Largest request body the codec server reads (413 above it). Temporal refuses payloads over
 * 2 MiB and gRPC messages over 4 MiB; base64 in the JSON body adds a third: 8 MiB holds any one
 * legitimate /decode request and bounds the memory one request can take. */
export const DEFAULT_CODEC_MAX_BODY_BYTES = 8 * 1024 * 1024;

/** Users a rollout input may list inline; more go in a usersFile (2,000 users x ~150 B is ~300 KB,
 * far under Temporal's 2 MB payload limit even after continue-as-new adds its state). */
export const ROLLOUT_INLINE_USERS_MAX = 2_000;
/** Users a rollout reads from its usersFile per page (one activity result, ~30 KB). */
export const ROLLOUT_PAGE_USERS = 200;
/** Child migrations a rollout run starts before it continues-as-new: ~3.4 events each keeps a run
 * near 1,700 history events (measured), far under the 51,200 limit. */
export const ROLLOUT_CHILDREN_PER_RUN = 500;
/** Failures a cohort keeps by name in the rollout status (the counts stay exact). */
export const ROLLOUT_FAILURES_KEPT = 20;
/**
 * How long after its ensureSchema a run without a lease yet still counts as a user of the schema's
 * tables (a rollback of another run will not drop them). The gap ensureSchema → acquireLease is
 * one activity; ten minutes covers retries and a worker restart in between, and a run that never
 * got its lease stops counting after it.
 */
export const SCHEMA_USER_GRACE_MS = 10 * 60_000;

/** Online mode: delta passes repeat until one applies fewer logged changes than this, then the final
 * pass runs with the source's writers waiting; small enough that the frozen pass is short. */
export const DEFAULT_DELTA_THRESHOLD = 50;
/** Online mode: delta passes before the final one at most, even if the app writes faster than they
 * catch up (the final, frozen pass then applies the rest). */
export const DEFAULT_MAX_DELTA_PASSES = 20;
/** Online mode: delta passes in a row that find no fewer changes than the fewest an earlier pass
 * found before the passes count as not converging and the run goes to the cut-over attempts (whose
 * own limits, maxFinalChanges and the budget, then decide). Three: one pass of noise is not a trend,
 * and three passes at the app's write rate cost seconds, not the minutes of maxDeltaPasses. */
export const DEFAULT_STALL_PASSES = 3;
/** Online mode, the catch-up estimate: the changes predicted pending at the freeze must fit this many
 * times into what the cut-over can apply in its budget. Two: half the budget drains the log, the
 * other half covers the freeze hook, the lock, the tail validation and the file copy, and a write
 * rate that a pass's sample underestimates. */
export const CATCH_UP_SAFETY_FACTOR = 2;
/** Online mode: logged changes one delta pass reads at most (bounded memory; the next pass continues). */
export const DELTA_MAX_CHANGES_PER_PASS = 5_000;
/** Online mode: how long the migrator waits for the source's write lock (install, freeze, removal)
 * while the app holds it; the app's own writers wait for the migrator with their busy_timeout. */
export const SOURCE_WRITE_BUSY_TIMEOUT_MS = 30_000;
/** The longest write freeze a run may ask a hook for: the app stops writing for at most this long
 * even if the worker dies mid-cut-over (the hook carries the expiry; the app honours it). A cut-over
 * that needs longer is not an online migration. */
export const MAX_FREEZE_BUDGET_MS = 10 * 60_000;
/** Cut-over: the default write-freeze budget. The goal is downtime under a second at the
 * median; 2 s leaves room for a loaded 2-core machine without making an attempt a long outage. */
export const DEFAULT_CUTOVER_BUDGET_MS = 2_000;
/** Cut-over: attempts before the run fails (each failed one unfreezes and catches up first). */
export const DEFAULT_CUTOVER_MAX_ATTEMPTS = 5;
/** Cut-over: wait between a failed attempt's catch-up and the next attempt (the app writes meanwhile). */
export const DEFAULT_CUTOVER_RETRY_DELAY_MS = 1_000;
/** Cut-over: an attempt whose pending log holds more changes than this gives up before applying them
 * (the app writes faster than a frozen pass could drain in the budget): unfreeze, catch up, retry. */
export const DEFAULT_CUTOVER_MAX_FINAL_CHANGES = 2_000;
/** Cut-over: while the operator postpones it, one delta pass this often keeps the target close (and
 * the final pass short); about six history events each. */
export const CUTOVER_POSTPONED_PASS_INTERVAL_MS = 10_000;
/** Bucket bounds (seconds) of migrator_write_freeze_seconds: freezes are sub-second to minutes. */
export const WRITE_FREEZE_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600];

/** Throttle (14.5): least time between two load checks of the copy. Short, so load is noticed within
 * a few seconds (and a few chunks), long enough that a check costs nothing next to the chunks. */
export const DEFAULT_THROTTLE_CHECK_INTERVAL_MS = 2_000;
/** Throttle: the first wait after a check over a threshold; it doubles up to the run's maxBackoffMs. */
export const THROTTLE_INITIAL_BACKOFF_MS = 500;
/** Throttle: the longest wait between checks while throttled (a release is noticed within this). */
export const DEFAULT_THROTTLE_MAX_BACKOFF_MS = 10_000;
/** Throttle: checks while throttled before the transferTable child continues-as-new (or the run's
 * chunksPerExecution, if smaller): ~11 history events each keeps a long throttle near 2,200 events
 * per execution, as the health guard does. */
export const THROTTLE_CHECKS_PER_EXECUTION = 200;
/** Throttle: while the copy waits, its parent's progress learns the time waited at most this often
 * (one signal each: a throttle of an hour adds ~120 to the run's history, not one per check). */
export const THROTTLE_REPORT_INTERVAL_MS = 30_000;
