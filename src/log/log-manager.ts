/**
 * All partition logs of a broker under one data directory (`<dataDir>/<topic>-<partition>/`), one shared group-commit
 * scheduler, and the periodic cleaner (retention and compaction, log.retention.check.interval.ms).
 */
import fs from 'node:fs'
import path from 'node:path'
import type { LogConfig } from './config.ts'
import { type FlushPolicy, FlushScheduler } from './flush-scheduler.ts'
import { type LogLineLevel, PartitionLog, type SegmentDamage, TailCacheBudget } from './partition-log.ts'

export const DEFAULT_CLEANER_INTERVAL_MS = 300000

const PARTITION_DIR_RE = /^(.+)-(\d+)$/

export interface LogManagerOptions {
  dataDir: string
  flushPolicy: FlushPolicy
  now?: () => number
  /** Interval of the retention/compaction pass; 0 disables the timer (call runCleanerOnce). */
  cleanerIntervalMs?: number
  log?: (message: string, level?: LogLineLevel) => void
  /** Memory all partitions' tail caches may hold together (default 32 MiB). */
  tailCacheBytes?: number
}

export interface RecoverySummary {
  partitions: number
  /** Partitions opened without their clean-shutdown marker. */
  uncleanPartitions: number
  segmentsChecked: number
  bytesChecked: number
  bytesTruncated: number
  partitionsTruncated: number
  indexesRebuilt: number
  openTransactions: number
  damaged: SegmentDamage[]
}

function key(topic: string, partition: number): string {
  return `${topic}-${partition}`
}

export class LogManager {
  readonly dataDir: string
  readonly flusher: FlushScheduler
  private readonly now: () => number
  private readonly logLine: (message: string, level?: LogLineLevel) => void
  private readonly tailCacheBudget: TailCacheBudget
  private readonly logs = new Map<string, PartitionLog>()
  private readonly opening = new Map<string, Promise<PartitionLog>>()
  private readonly onDisk: { topic: string; partition: number }[] = []
  private timer: NodeJS.Timeout | null = null
  private cleaning: Promise<void> | null = null
  private closed = false

  private constructor(opts: LogManagerOptions) {
    this.dataDir = opts.dataDir
    this.flusher = new FlushScheduler(opts.flushPolicy)
    this.now = opts.now ?? Date.now
    this.logLine = opts.log ?? (() => {})
    this.tailCacheBudget = new TailCacheBudget(opts.tailCacheBytes ?? 32 * 1024 * 1024)
  }

  static async open(opts: LogManagerOptions): Promise<LogManager> {
    const m = new LogManager(opts)
    fs.mkdirSync(opts.dataDir, { recursive: true })
    for (const ent of fs.readdirSync(opts.dataDir, { withFileTypes: true })) {
      if (!ent.isDirectory()) continue
      const match = PARTITION_DIR_RE.exec(ent.name)
      if (!match) continue
      m.onDisk.push({ topic: match[1]!, partition: Number(match[2]) })
    }
    const interval = opts.cleanerIntervalMs ?? DEFAULT_CLEANER_INTERVAL_MS
    if (interval > 0) {
      m.timer = setInterval(() => {
        if (!m.cleaning) void m.runCleanerOnce().catch((err) => m.logLine(`log cleaner failed: ${err.message}`))
      }, interval)
      m.timer.unref()
    }
    return m
  }

  /** Partition directories found at open; the broker reconciles them with its topic metadata. */
  listOnDisk(): { topic: string; partition: number }[] {
    return this.onDisk.map((p) => ({ ...p }))
  }

  get(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(key(topic, partition))
  }

  /** All open logs. */
  all(): { topic: string; partition: number; log: PartitionLog }[] {
    const out: { topic: string; partition: number; log: PartitionLog }[] = []
    for (const [k, log] of this.logs) {
      const m = PARTITION_DIR_RE.exec(k)!
      out.push({ topic: m[1]!, partition: Number(m[2]), log })
    }
    return out
  }

  /** Opens (recovering if needed) or creates the log; an existing log gets `config`. */
  async getOrCreate(topic: string, partition: number, config: LogConfig): Promise<PartitionLog> {
    const k = key(topic, partition)
    const existing = this.logs.get(k)
    if (existing) {
      existing.updateConfig(config)
      return existing
    }
    let pending = this.opening.get(k)
    if (!pending) {
      pending = PartitionLog.open({
        dir: path.join(this.dataDir, k),
        config,
        flusher: this.flusher,
        now: this.now,
        log: this.logLine,
        tailCacheBudget: this.tailCacheBudget,
      })
      this.opening.set(k, pending)
    }
    try {
      const log = await pending
      this.logs.set(k, log)
      if (!this.onDisk.some((p) => p.topic === topic && p.partition === partition))
        this.onDisk.push({ topic, partition })
      return log
    } finally {
      this.opening.delete(k)
    }
  }

  /** Deletes every partition of `topic`, open or only on disk. */
  async deleteTopic(topic: string): Promise<void> {
    for (const [k, log] of [...this.logs]) {
      const m = PARTITION_DIR_RE.exec(k)!
      if (m[1] !== topic) continue
      this.logs.delete(k)
      await log.destroy()
    }
    for (let i = this.onDisk.length - 1; i >= 0; i--) {
      const p = this.onDisk[i]!
      if (p.topic !== topic) continue
      fs.rmSync(path.join(this.dataDir, key(p.topic, p.partition)), { recursive: true, force: true })
      this.onDisk.splice(i, 1)
    }
  }

  /**
   * What opening the partitions found, summed over the open logs: how many were recovered after an unclean
   * shutdown, what was checked and truncated, damaged segments, and transactions left open.
   */
  recoverySummary(): RecoverySummary {
    const sum: RecoverySummary = {
      partitions: 0,
      uncleanPartitions: 0,
      segmentsChecked: 0,
      bytesChecked: 0,
      bytesTruncated: 0,
      partitionsTruncated: 0,
      indexesRebuilt: 0,
      openTransactions: 0,
      damaged: [],
    }
    for (const log of this.logs.values()) {
      const r = log.recovery
      sum.partitions++
      if (r.uncleanShutdown) sum.uncleanPartitions++
      sum.segmentsChecked += r.segmentsChecked
      sum.bytesChecked += r.bytesChecked
      sum.bytesTruncated += r.bytesTruncated
      if (r.bytesTruncated > 0) sum.partitionsTruncated++
      sum.indexesRebuilt += r.indexesRebuilt
      sum.openTransactions += r.openTransactions
      sum.damaged.push(...r.damaged)
    }
    return sum
  }

  /**
   * Deletes one partition, open or only on disk, including a directory left by an open that failed part-way
   * (a topic creation rolled back).
   */
  async deletePartition(topic: string, partition: number): Promise<void> {
    const k = key(topic, partition)
    const pending = this.opening.get(k)
    if (pending) await pending.catch(() => {})
    const log = this.logs.get(k)
    if (log) {
      this.logs.delete(k)
      await log.destroy()
    }
    const i = this.onDisk.findIndex((p) => p.topic === topic && p.partition === partition)
    if (i >= 0) this.onDisk.splice(i, 1)
    fs.rmSync(path.join(this.dataDir, k), { recursive: true, force: true })
  }

  /** One retention + compaction pass over all open logs. */
  runCleanerOnce(): Promise<void> {
    if (this.cleaning) return this.cleaning
    this.cleaning = (async () => {
      try {
        for (const log of [...this.logs.values()]) {
          if (this.closed) return
          try {
            const { deletedSegments } = await log.enforceRetention()
            if (deletedSegments > 0) this.logLine(`retention deleted ${deletedSegments} segment(s) of ${log.dir}`)
            if (log.config.cleanupPolicy.compact) {
              const { removedRecords } = await log.compact()
              if (removedRecords > 0) this.logLine(`compaction removed ${removedRecords} record(s) from ${log.dir}`)
            }
          } catch (err) {
            this.logLine(`log cleaner failed on ${log.dir}: ${(err as Error).message}`)
          }
        }
      } finally {
        this.cleaning = null
      }
    })()
    return this.cleaning
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    if (this.cleaning) await this.cleaning
    await Promise.all([...this.logs.values()].map((l) => l.close()))
    this.logs.clear()
    await this.flusher.close()
  }
}
