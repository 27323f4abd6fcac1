/**
 * Benchmark sizes: defaults for the full run, smaller ones for `--quick`, every one overridable by an env var
 * so a slow or fast machine can be measured without editing code.
 */
import { tmpdir } from 'node:os'

export interface BenchOptions {
  quick: boolean
  /** Parent of every temp dir (data dirs and the fdatasync probe share this disk). */
  baseDir: string
  /** Alternating rounds of machine limit and systems. */
  rounds: number
  recordBytes: number
  /**
   * Records per produce call: 1000 × 1 KiB is ~1 MiB and stays under Kafka's default message.max.bytes
   * (1,048,588), which 1024 records of 1 KiB plus record framing would exceed.
   */
  batchRecords: number
  /** Produce calls in flight. */
  inflight: number
  /** MiB produced (then consumed) per system per round. */
  volumeMiB: number
  /** Bytes per consumer fetch / read call, the same for every system. */
  fetchBytes: number
  limitDiskMiB: number
  /**
   * The disk limit fdatasyncs after this many 1 MiB writes (default: the number of produce calls in flight,
   * which a group-committing broker can make durable with one fdatasync); every-write is measured as well.
   */
  limitSyncEvery: number
  limitTcpMiB: number
  /**
   * MiB written to a scratch file and deleted right before every measured phase (disk probes and each
   * system's produce and consume), so all of them start with recycled memory; 0 = off. See BENCHMARKS.md,
   * "Memory on this VM".
   */
  warmMiB: number
  /**
   * MiB each freshly started server is given (same driver, another topic/stream, not measured) before its
   * measured phases, so no system is measured while its JIT or caches are cold.
   */
  warmupMiB: number
  latencyRate: number
  /** Measured seconds per system (after a 1 s warm-up per slice), cut into `latencySlices` rotating slices. */
  latencySeconds: number
  latencySlices: number
  rssSmallMiB: number
  rssLargeMiB: number
  /** MiB of old data read after filling, to see whether reading cold segments grows RSS. */
  rssReadMiB: number
  startupTopics: number
  startupPartitionsPerTopic: number
  startupRepeats: number
  /** Also drive Tributary with KafkaJS (BENCH_KAFKAJS=0 to skip). */
  kafkajs: boolean
  /** Which systems to include (comma list of tributary,redis,nats,kafka). */
  systems: string[]
}

function envInt(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`)
  return n
}

export function benchOptions(argv: string[] = process.argv.slice(2)): BenchOptions {
  const quick = argv.includes('--quick') || process.env.BENCH_QUICK === '1'
  const q = <T>(full: T, small: T): T => (quick ? small : full)
  return {
    quick,
    baseDir: process.env.BENCH_DIR ?? tmpdir(),
    rounds: envInt('BENCH_ROUNDS', q(5, 1)),
    recordBytes: envInt('BENCH_RECORD_BYTES', 1024),
    batchRecords: envInt('BENCH_BATCH_RECORDS', 1000),
    inflight: envInt('BENCH_INFLIGHT', 4),
    volumeMiB: envInt('BENCH_VOLUME_MIB', q(512, 32)),
    fetchBytes: envInt('BENCH_FETCH_BYTES', 1024 * 1024),
    limitDiskMiB: envInt('BENCH_LIMIT_DISK_MIB', envInt('BENCH_VOLUME_MIB', q(512, 32))),
    limitSyncEvery: envInt('BENCH_LIMIT_SYNC_EVERY', envInt('BENCH_INFLIGHT', 4)),
    limitTcpMiB: envInt('BENCH_LIMIT_TCP_MIB', q(1024, 128)),
    warmMiB: envInt('BENCH_WARM_MIB', q(1024, 64)),
    warmupMiB: envInt('BENCH_WARMUP_MIB', q(64, 8)),
    latencyRate: envInt('BENCH_LATENCY_RATE', 1000),
    latencySeconds: envInt('BENCH_LATENCY_SECONDS', q(30, 4)),
    latencySlices: envInt('BENCH_LATENCY_SLICES', q(3, 2)),
    rssSmallMiB: envInt('BENCH_RSS_SMALL_MIB', q(200, 32)),
    rssLargeMiB: envInt('BENCH_RSS_LARGE_MIB', q(2048, 256)),
    rssReadMiB: envInt('BENCH_RSS_READ_MIB', q(256, 32)),
    startupTopics: envInt('BENCH_STARTUP_TOPICS', q(100, 10)),
    startupPartitionsPerTopic: envInt('BENCH_STARTUP_PARTITIONS_PER_TOPIC', 10),
    startupRepeats: envInt('BENCH_STARTUP_REPEATS', q(3, 1)),
    kafkajs: process.env.BENCH_KAFKAJS !== '0',
    systems: (process.env.BENCH_SYSTEMS ?? 'tributary,redis,nats,kafka').split(',').map((s) => s.trim()),
  }
}

export const MiB = 1024 * 1024
