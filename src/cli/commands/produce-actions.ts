/** What `tributary produce` runs: read and check every record first, then send them (nothing is sent on bad input). */
import { createInterface } from 'node:readline'
import { type ConnectionFlags, resolveConnection } from '../connection.ts'
import { type CliContext, notFoundError, usageError } from '../context.ts'
import { explainKafkaError, producerFor, withAdmin } from '../kafka.ts'
import { outputFormat, Progress, plural, printResult } from '../output.ts'
import { parseKeyValues, parseNonNegativeInt, requireTopics } from './admin-support.ts'
import { encoderFor, parseRecordFormat } from './record-formats.ts'

interface ProduceFlags extends ConnectionFlags {
  value?: string[]
  key?: string
  keySeparator?: string
  header?: string[]
  partition?: string
  format: string
  keyFormat: string
  subject?: string
  keySubject?: string
  schemaFile?: string
  register?: boolean
  compression: string
  acks: string
}

const COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const
const ACKS: Record<string, number> = { all: -1, '-1': -1, leader: 1, '1': 1, none: 0, '0': 0 }

async function inputLines(flags: ProduceFlags, ctx: CliContext): Promise<{ line: number; text: string }[]> {
  if (flags.value) return flags.value.map((text, i) => ({ line: i + 1, text }))
  const out: { line: number; text: string }[] = []
  let n = 0
  for await (const text of createInterface({ input: ctx.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
    n++
    if (text.length > 0) out.push({ line: n, text })
  }
  return out
}

export async function produce(topic: string, flags: ProduceFlags, ctx: CliContext): Promise<void> {
  const conn = resolveConnection(flags, ctx)
  const format = outputFormat(flags, ctx)
  const valueFormat = parseRecordFormat(flags.format, '--format')
  const keyFormat = parseRecordFormat(flags.keyFormat, '--key-format')
  const headers = parseKeyValues(flags.header, '--header')
  const partition = flags.partition === undefined ? undefined : parseNonNegativeInt(flags.partition, '--partition')
  const compression = flags.compression.toLowerCase()
  if (!(COMPRESSIONS as readonly string[]).includes(compression)) {
    throw usageError(`unknown compression '${flags.compression}': use ${COMPRESSIONS.join(', ')}`)
  }
  const acks = ACKS[flags.acks.toLowerCase()]
  if (acks === undefined) throw usageError(`--acks must be all, leader or none, got '${flags.acks}'`)
  if (flags.keySeparator !== undefined && flags.key !== undefined) {
    throw usageError('give --key or --key-separator, not both')
  }
  if (flags.keySeparator === '') throw usageError('--key-separator is empty')
  if (flags.register && !flags.schemaFile) throw usageError('--register needs --schema-file')

  // The topic and partition must exist: checked before reading the input, so a typo fails fast.
  await withAdmin(conn, async (admin) => {
    const count = (await requireTopics(admin, [topic])).get(topic)!
    if (partition !== undefined && partition >= count) {
      throw notFoundError(`topic '${topic}' has no partition ${partition} (it has ${count}: 0..${count - 1})`)
    }
  })

  const valueEncoder = encoderFor(valueFormat, {
    registry: conn.registry,
    topic,
    isKey: false,
    subject: flags.subject,
    schemaFile: flags.schemaFile,
    register: flags.register,
  })
  const keyEncoder = encoderFor(keyFormat, { registry: conn.registry, topic, isKey: true, subject: flags.keySubject })
  await valueEncoder.prepare()
  const keyed = flags.key !== undefined || flags.keySeparator !== undefined
  if (keyed) await keyEncoder.prepare()

  const lines = await inputLines(flags, ctx)
  if (lines.length === 0) throw usageError('no records: give --value, or lines on standard input')
  const headerMap = () => new Map(headers.map(([k, v]) => [Buffer.from(k), Buffer.from(v)]))
  const fixedKey =
    flags.key === undefined ? undefined : await encodeOrExplain(() => keyEncoder.encode(flags.key!), 'key')
  const messages = []
  for (const { line, text } of lines) {
    const where = flags.value ? `--value ${line}` : `line ${line}`
    let keyText: string | undefined
    let valueText = text
    if (flags.keySeparator !== undefined) {
      const at = text.indexOf(flags.keySeparator)
      if (at < 0) throw usageError(`${where}: no key separator '${flags.keySeparator}' (nothing was sent)`)
      keyText = text.slice(0, at)
      valueText = text.slice(at + flags.keySeparator.length)
    }
    const key =
      keyText === undefined ? fixedKey : await encodeOrExplain(() => keyEncoder.encode(keyText!), `${where}: key`)
    const value = await encodeOrExplain(() => valueEncoder.encode(valueText), `${where}: value`)
    messages.push({ topic, key, value, partition, headers: headerMap() })
  }

  const producer = producerFor(conn, { acks, compression, autocreateTopics: false })
  const progress = new Progress(ctx, `producing to ${topic}`, messages.length)
  // The base offset of each batch written (one per partition and request).
  const batches: { partition: number; baseOffset: bigint }[] = []
  try {
    for (let i = 0; i < messages.length; i += 500) {
      const r = await producer.send({ messages: messages.slice(i, i + 500), acks })
      for (const o of r.offsets ?? []) batches.push({ partition: o.partition, baseOffset: o.offset })
      if (!ctx.outIsTerminal) progress.update(Math.min(i + 500, messages.length))
    }
  } catch (err) {
    const sent =
      batches.length > 0 ? ` (some records were written before the failure, up to batch ${batches.length})` : ''
    const e = explainKafkaError(err, conn, `produce to ${topic}`)
    e.message += sent
    throw e
  } finally {
    progress.done()
    await producer.close().catch(() => {})
  }
  const partitions = [...new Set(batches.map((o) => o.partition))].sort((a, b) => a - b)
  printResult(
    ctx,
    format,
    `produced ${plural(messages.length, 'record')} to ${topic}${partitions.length ? ` (${partitions.length === 1 ? 'partition' : 'partitions'} ${partitions.join(', ')})` : ''}`,
    { topic, records: messages.length, batches },
  )
}

async function encodeOrExplain(fn: () => Promise<Buffer>, where: string): Promise<Buffer> {
  try {
    return await fn()
  } catch (err) {
    const e = err as Error
    e.message = `${where}: ${e.message} (nothing was sent)`
    throw e
  }
}
