/**
 * Prometheus metrics of a KafkaStreams instance, in the text format the broker uses (src/common/metrics.ts):
 * process rate (records processed per task, as a counter), commit latency, records lag per input partition,
 * restoration progress (remaining records, records/s) and standby lag, and the client state.
 */
import { Metrics } from '../../common/metrics.ts'

export const StreamsMetricNames = {
  PROCESSED: 'tributary_streams_records_processed_total',
  PRODUCED: 'tributary_streams_records_produced_total',
  DROPPED: 'tributary_streams_records_dropped_total',
  COMMITS: 'tributary_streams_commits_total',
  COMMIT_SECONDS: 'tributary_streams_commit_latency_seconds_total',
  COMMIT_LAST: 'tributary_streams_commit_latency_seconds',
  LAG: 'tributary_streams_records_lag',
  RESTORED: 'tributary_streams_restored_records_total',
  RESTORE_REMAINING: 'tributary_streams_restore_remaining_records',
  RESTORE_RATE: 'tributary_streams_restore_records_per_second',
  STANDBY_LAG: 'tributary_streams_standby_records_lag',
  STATE: 'tributary_streams_state',
  TASKS: 'tributary_streams_tasks',
  REBALANCES: 'tributary_streams_rebalances_total',
  TASKS_CREATED: 'tributary_streams_tasks_created_total',
  TASKS_CLOSED: 'tributary_streams_tasks_closed_total',
} as const

export class StreamsMetrics {
  readonly registry: Metrics
  readonly #labels: { application_id: string; client_id: string }

  #lastCommitSeconds: number | undefined

  constructor(applicationId: string, clientId: string, registry = new Metrics()) {
    this.registry = registry
    this.#labels = { application_id: applicationId, client_id: clientId }
    // Gauges are set right before each scrape (the registry clears them for every render).
    registry.collect((m) => {
      if (this.#lastCommitSeconds !== undefined) {
        m.set(
          StreamsMetricNames.COMMIT_LAST,
          'Duration of the last commit, in seconds',
          this.labels(),
          this.#lastCommitSeconds,
        )
      }
    })
  }

  labels(extra: Record<string, string> = {}): Record<string, string> {
    return { ...this.#labels, ...extra }
  }

  processed(taskId: string, n: number): void {
    if (n > 0)
      this.registry.inc(
        StreamsMetricNames.PROCESSED,
        'Records processed, per task',
        this.labels({ task_id: taskId }),
        n,
      )
  }

  produced(n: number): void {
    this.registry.inc(
      StreamsMetricNames.PRODUCED,
      'Records produced (outputs, repartition, changelog)',
      this.labels(),
      n,
    )
  }

  dropped(reason: string, n: number): void {
    if (n > 0)
      this.registry.inc(
        StreamsMetricNames.DROPPED,
        'Records skipped: by an exception handler, or by a DSL processor (null join key, stale foreign-key response)',
        this.labels({ reason }),
        n,
      )
  }

  commit(seconds: number): void {
    this.registry.inc(
      StreamsMetricNames.COMMITS,
      'Commits (offsets, and the transaction under exactly_once_v2)',
      this.labels(),
    )
    this.registry.inc(StreamsMetricNames.COMMIT_SECONDS, 'Time spent committing, in seconds', this.labels(), seconds)
    this.#lastCommitSeconds = seconds
  }

  restored(n: number): void {
    if (n > 0)
      this.registry.inc(StreamsMetricNames.RESTORED, 'Changelog records restored into active tasks', this.labels(), n)
  }

  rebalance(): void {
    this.registry.inc(StreamsMetricNames.REBALANCES, 'Rebalances this instance took part in', this.labels())
  }

  /** A task was opened on this instance (`kind`: active, or standby); a standby promoted to active counts too. */
  taskCreated(kind: 'active' | 'standby'): void {
    this.registry.inc(StreamsMetricNames.TASKS_CREATED, 'Tasks opened on this instance', this.labels({ kind }))
  }

  /** A task was closed on this instance (it moved away, or the instance stops). */
  taskClosed(kind: 'active' | 'standby'): void {
    this.registry.inc(StreamsMetricNames.TASKS_CLOSED, 'Tasks closed on this instance', this.labels({ kind }))
  }
}
