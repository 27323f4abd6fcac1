/**
 * What `tributary consume` runs: Fetch requests to each partition's leader (through @platformatic/kafka's
 * consumer, which never joins a group here), from a chosen position, until the end of the partitions as they were
 * at the start, a record count, or Ctrl-C when following.
 */
import { type Consumer, ProtocolError } from '@platformatic/kafka'
import { type ConnectionFlags, resolveConnection } from '../connection.ts'
import { type CliContext, usageError } from '../context.ts'
import { consumerFor, explainKafkaError, withAdmin } from '../kafka.ts'
import { Progress, toJson } from '../output.ts'
import { EARLIEST, LATEST, listOffsets, parsePositiveInt, requireTopics, selectPartitions } from './admin-support.ts'
import { parseStartSpec } from './offset-specs.ts'
import { decoderFor, parseRecordFormat } from './record-formats.ts'

interface ConsumeFlags extends ConnectionFlags {
  partition?: string[]
  from: string
  count?: string
  follow?: boolean
  format: string
  keyFormat: string
  printKey?: boolean
  readCommitted?: boolean
}

const CONSUME_OUTPUTS = ['text', 'json', 'table'] as const
type ConsumeOutput = (typeof CONSUME_OUTPUTS)[number]

const OFFSET_OUT_OF_RANGE = 1
const CONTROL_BATCH = 0x20
const TRANSACTIONAL_BATCH = 0x10

interface PartitionCursor {
  partition: number
  next: bigint
  /** Stop here unless following: the log end when the command started. */
  end: bigint
  leaderEpoch: number
  aborted: Set<bigint>
}

export async function consume(topic: string, flags: ConsumeFlags, ctx: CliContext): Promise<void> {
  const conn = resolveConnection(flags, ctx)
  const output = (flags.output ?? ctx.env.TRIBUTARY_OUTPUT ?? 'text').toLowerCase() as ConsumeOutput
  if (!CONSUME_OUTPUTS.includes(output)) throw usageError(`unknown output '${flags.output}': use text, json or table`)
  const start = parseStartSpec(flags.from)
  const limit = flags.count === undefined ? undefined : parsePositiveInt(flags.count, '--count')
  const valueDecoder = decoderFor(parseRecordFormat(flags.format, '--format'), conn.registry, false)
  const keyDecoder = decoderFor(parseRecordFormat(flags.keyFormat, '--key-format'), conn.registry, true)

  // Where each partition starts and ends, from the admin APIs; a bad topic or partition fails here.
  const cursors = await withAdmin(conn, async (admin) => {
    const count = (await requireTopics(admin, [topic])).get(topic)!
    const partitions = selectPartitions(topic, count, flags.partition)
    const [earliest, latest] = await Promise.all([
      listOffsets(admin, topic, partitions, EARLIEST),
      listOffsets(admin, topic, partitions, LATEST),
    ])
    const atTime =
      start.kind === 'timestamp' ? await listOffsets(admin, topic, partitions, BigInt(start.timestamp)) : undefined
    return partitions.map((p): PartitionCursor => {
      const first = earliest.get(p) ?? 0n
      const end = latest.get(p) ?? 0n
      let next: bigint
      if (start.kind === 'earliest') next = first
      else if (start.kind === 'latest') next = end
      else if (start.kind === 'offset') {
        if (start.offset > end || start.offset < first) {
          ctx.err(
            `tributary: ${topic}:${p} has offsets ${first}..${end}; starting at ${start.offset < first ? first : end}\n`,
          )
        }
        next = start.offset < first ? first : start.offset > end ? end : start.offset
      } else {
        const at = atTime!.get(p) ?? -1n
        next = at < 0n ? end : at
      }
      return { partition: p, next, end, leaderEpoch: -1, aborted: new Set() }
    })
  })

  const consumer = consumerFor(conn)
  const printer = recordPrinter(ctx, output, flags.printKey === true)
  const progress = new Progress(ctx, `consuming ${topic}`, limit)
  let seen = 0
  try {
    const done = () => limit !== undefined && seen >= limit
    const caughtUp = () => !flags.follow && cursors.every((c) => c.next >= c.end)
    while (!done() && !caughtUp() && !ctx.signal.aborted) {
      const md = await consumer.metadata({ topics: [topic], forceUpdate: false })
      const t = md.topics.get(topic)
      if (!t) throw usageError(`topic '${topic}' disappeared while reading it`)
      const byLeader = new Map<number, PartitionCursor[]>()
      for (const c of cursors) {
        if (!flags.follow && c.next >= c.end) continue
        const leader = t.partitions[c.partition]?.leader ?? -1
        if (!byLeader.has(leader)) byLeader.set(leader, [])
        byLeader.get(leader)!.push(c)
      }
      for (const [node, list] of byLeader) {
        if (done() || ctx.signal.aborted) break
        const response = await fetchOnce(
          consumer,
          node,
          t.id,
          list,
          flags.readCommitted === true,
          flags.follow === true,
        )
        for (const r of response.responses) {
          for (const p of r.partitions) {
            const c = list.find((x) => x.partition === p.partitionIndex)!
            if (p.errorCode === OFFSET_OUT_OF_RANGE && c.next < p.logStartOffset) {
              // Records were deleted (retention, purge) under us: go on from the new log start.
              c.next = p.logStartOffset
              continue
            }
            if (p.errorCode !== 0) throw new ProtocolError(p.errorCode)
            // Aborted transactions in this response, by first offset: each one starts skipping its producer's
            // batches at its first offset, until that producer's abort marker.
            const abortedTxns = [...(p.abortedTransactions ?? [])].sort((a, b) =>
              a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
            )
            let nextAborted = 0
            for (const batch of p.records ?? []) {
              const last = batch.firstOffset + BigInt(batch.lastOffsetDelta)
              while (nextAborted < abortedTxns.length && abortedTxns[nextAborted]!.firstOffset <= last) {
                c.aborted.add(abortedTxns[nextAborted]!.producerId)
                nextAborted++
              }
              if (last < c.next) continue
              if (batch.attributes & CONTROL_BATCH) {
                // A transaction marker: the producer's aborted records (if any) end here.
                c.aborted.delete(batch.producerId)
                if (c.next <= last) c.next = last + 1n
                continue
              }
              const skip =
                flags.readCommitted && batch.attributes & TRANSACTIONAL_BATCH && c.aborted.has(batch.producerId)
              for (const rec of batch.records) {
                const offset = batch.firstOffset + BigInt(rec.offsetDelta)
                if (offset < c.next) continue
                c.next = offset + 1n
                if (skip) continue
                if (done() || (!flags.follow && offset >= c.end)) break
                const where = { topic, partition: c.partition, offset }
                const key = rec.key === null ? null : await keyDecoder.decode(rec.key, where)
                const value = await valueDecoder.decode(rec.value, where)
                const headers: Record<string, string> = {}
                for (const [hk, hv] of rec.headers) {
                  if (hk) headers[hk.toString('utf8')] = hv === null ? '' : hv.toString('utf8')
                }
                printer({
                  topic,
                  partition: c.partition,
                  offset,
                  timestamp: Number(batch.firstTimestamp + rec.timestampDelta),
                  key,
                  value,
                  headers,
                })
                seen++
                if (!ctx.outIsTerminal) progress.update(seen)
              }
              if (!done()) c.next = c.next > last + 1n ? c.next : last + 1n
            }
            // The log may end before the offset seen at the start (truncated), and read_committed stops at the
            // last stable offset (an open transaction's records are not readable yet).
            if (!flags.follow && c.next < c.end && p.highWatermark <= c.next) c.end = c.next
            if (!flags.follow && flags.readCommitted && c.next < c.end && p.lastStableOffset <= c.next) c.end = c.next
          }
        }
      }
    }
  } catch (err) {
    throw explainKafkaError(err, conn, `consume ${topic}`)
  } finally {
    progress.done()
    await consumer.close(true)
  }
  if (limit !== undefined && seen < limit && !flags.follow && !ctx.signal.aborted) {
    ctx.err(`tributary: reached the end of ${topic} after ${seen} of ${limit} records\n`)
  }
}

async function fetchOnce(
  consumer: Consumer,
  node: number,
  topicId: string,
  list: PartitionCursor[],
  readCommitted: boolean,
  follow: boolean,
) {
  return consumer.fetch({
    node,
    topics: [
      {
        topicId,
        partitions: list.map((c) => ({
          partition: c.partition,
          currentLeaderEpoch: -1,
          fetchOffset: c.next,
          lastFetchedEpoch: -1,
          partitionMaxBytes: 1024 * 1024,
        })),
      },
    ],
    minBytes: 1,
    maxBytes: 8 * 1024 * 1024,
    // Following, a fetch waits for new records; reading to the end, every partition has records to return.
    maxWaitTime: follow ? 500 : 100,
    isolationLevel: readCommitted ? 1 : 0,
  })
}

interface PrintedRecord {
  topic: string
  partition: number
  offset: bigint
  timestamp: number
  key: unknown
  value: unknown
  headers: Record<string, string>
}

function textOf(v: unknown): string {
  if (v === null || v === undefined) return ''
  return typeof v === 'string' ? v : toJson(v, 0)
}

function recordPrinter(ctx: CliContext, output: ConsumeOutput, printKey: boolean): (r: PrintedRecord) => void {
  if (output === 'json') {
    return (r) => ctx.out(`${toJson({ ...r, timestamp: r.timestamp }, 0)}\n`)
  }
  if (output === 'table') {
    let header = false
    return (r) => {
      if (!header) ctx.out('PARTITION\tOFFSET\tTIMESTAMP\tKEY\tVALUE\n')
      header = true
      ctx.out(
        `${r.partition}\t${r.offset}\t${new Date(r.timestamp).toISOString()}\t${textOf(r.key)}\t${textOf(r.value)}\n`,
      )
    }
  }
  return (r) => ctx.out(printKey ? `${textOf(r.key)}\t${textOf(r.value)}\n` : `${textOf(r.value)}\n`)
}
