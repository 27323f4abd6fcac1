/**
 * One suite for every KeyedLog: in memory, on a partition of the local log (broker-internal state), and on a Kafka
 * topic through the client (against a broker started here, or TRIBUTARY_BOOTSTRAP).
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { PartitionKeyedLog } from '../../src/broker/internal-topic.ts'
import { KafkaKeyedLog } from '../../src/client/index.ts'
import { InMemoryKeyedLog, type KeyedLog, type LoggedRecord } from '../../src/common/keyed-log.ts'
import { DEFAULT_LOG_CONFIG, FlushScheduler, PartitionLog } from '../../src/log/index.ts'
import { startTestBroker, type TestBroker, tempDir } from '../helpers/broker.ts'

/** The storage of one log; `open()` gives a new owner of it (after a restart, or another process). */
interface Storage {
  open(): Promise<KeyedLog>
  /** Whether several owners may write at once and see each other's appends. */
  readonly sharedByWriters: boolean
  dispose(): Promise<void>
}

const key = (s: string) => Buffer.from(s)
const text = (r: LoggedRecord) => ({ offset: r.offset, key: r.key.toString(), value: r.value?.toString() ?? null })

async function replayAll(log: KeyedLog) {
  const seen: LoggedRecord[] = []
  await log.replay((r) => seen.push(r))
  return seen.map(text)
}

/** Resolves with the first record `matches` accepts; the log delivers it to a follower. */
function follow(log: KeyedLog, matches: (r: LoggedRecord) => boolean) {
  const seen: LoggedRecord[] = []
  let found!: (r: LoggedRecord) => void
  const arrived = new Promise<LoggedRecord>((resolve) => {
    found = resolve
  })
  const replayed = log.replay(
    (r) => {
      seen.push(r)
      if (matches(r)) found(r)
    },
    { follow: true },
  )
  return { seen, arrived, replayed }
}

function keyedLogContract(name: string, newStorage: () => Promise<Storage>) {
  /** Runs `body` with one owner of fresh storage, then closes both. */
  async function withLog(body: (log: KeyedLog) => Promise<void>): Promise<void> {
    const storage = await newStorage()
    const log = await storage.open()
    try {
      await body(log)
    } finally {
      await log.close()
      await storage.dispose()
    }
  }

  describe(name, () => {
    it('appends in order, answers the last offset once durable, and replays every record with its offset', () =>
      withLog(async (log) => {
        assert.equal(await log.endOffset(), 0)
        assert.equal(await log.append([{ key: key('a'), value: key('1') }]), 0)
        assert.equal(
          await log.append([
            { key: key('b'), value: key('2') },
            { key: key('a'), value: null },
          ]),
          2,
        )
        assert.equal(await log.endOffset(), 3)
        assert.deepEqual(await replayAll(log), [
          { offset: 0, key: 'a', value: '1' },
          { offset: 1, key: 'b', value: '2' },
          { offset: 2, key: 'a', value: null },
        ])
      }))

    it('replays from a checkpoint offset, as a restore does', () =>
      withLog(async (log) => {
        for (const v of ['0', '1', '2', '3']) await log.append([{ key: key(`k${v}`), value: key(v) }])
        const seen: LoggedRecord[] = []
        await log.replay((r) => seen.push(r), { from: 2 })
        assert.deepEqual(seen.map(text), [
          { offset: 2, key: 'k2', value: '2' },
          { offset: 3, key: 'k3', value: '3' },
        ])
      }))

    it('replays an empty log at once', () =>
      withLog(async (log) => {
        assert.deepEqual(await replayAll(log), [])
      }))

    it('a new owner of the same storage replays what the previous one wrote', async () => {
      const storage = await newStorage()
      const first = await storage.open()
      await first.append([{ key: key('k'), value: key('v1') }])
      await first.append([{ key: key('k'), value: key('v2') }])
      await first.close()
      const second = await storage.open()
      assert.deepEqual(await replayAll(second), [
        { offset: 0, key: 'k', value: 'v1' },
        { offset: 1, key: 'k', value: 'v2' },
      ])
      assert.equal(await second.append([{ key: key('k'), value: key('v3') }]), 2)
      await second.close()
      await storage.dispose()
    })

    it('without follow, delivers only what was in the log when the replay started', () =>
      withLog(async (log) => {
        await log.append([{ key: key('before'), value: key('x') }])
        const seen: LoggedRecord[] = []
        await log.replay((r) => seen.push(r))
        await log.append([{ key: key('after'), value: key('y') }])
        // A second replay sees the later append; the first, finished replay was not given it.
        assert.deepEqual(
          (await replayAll(log)).map((r) => r.key),
          ['before', 'after'],
        )
        assert.deepEqual(seen.map(text), [{ offset: 0, key: 'before', value: 'x' }])
      }))

    it('with follow, resolves once caught up and then delivers later appends in order', () =>
      withLog(async (log) => {
        await log.append([{ key: key('old'), value: key('0') }])
        const f = follow(log, (r) => r.key.toString() === 'new-2')
        await f.replayed
        assert.deepEqual(f.seen.map(text), [{ offset: 0, key: 'old', value: '0' }], 'caught up on the existing record')
        await log.append([{ key: key('new-1'), value: key('1') }])
        await log.append([{ key: key('new-2'), value: null }])
        await f.arrived
        assert.deepEqual(f.seen.map(text), [
          { offset: 0, key: 'old', value: '0' },
          { offset: 1, key: 'new-1', value: '1' },
          { offset: 2, key: 'new-2', value: null },
        ])
      }))

    it('with follow, an owner sees the appends of another owner sharing the log (when writers share it)', async () => {
      const storage = await newStorage()
      const a = await storage.open()
      const b = storage.sharedByWriters ? await storage.open() : a
      const f = follow(a, (r) => r.key.toString() === 'from-b')
      await f.replayed
      await b.append([{ key: key('from-b'), value: key('hello') }])
      assert.deepEqual(text(await f.arrived), { offset: 0, key: 'from-b', value: 'hello' })
      await a.close()
      if (b !== a) await b.close()
      await storage.dispose()
    })
  })
}

keyedLogContract('InMemoryKeyedLog', async () => {
  const log = new InMemoryKeyedLog()
  return { open: async () => log, sharedByWriters: true, dispose: async () => {} }
})

keyedLogContract('PartitionKeyedLog (local log)', async () => {
  const dir = tempDir('tributary-keyed-log-')
  const flusher = new FlushScheduler({ mode: 'group' })
  let current: PartitionLog | undefined
  return {
    // One writer per partition: a new owner is the broker after a restart, on the same directory.
    sharedByWriters: false,
    async open() {
      await current?.close()
      current = await PartitionLog.open({ dir: dir.path, config: { ...DEFAULT_LOG_CONFIG }, flusher })
      return new PartitionKeyedLog(current)
    },
    async dispose() {
      await current?.close()
      await flusher.close()
      dir.remove()
    },
  }
})

describe('KafkaKeyedLog', () => {
  let broker: TestBroker
  before(async () => {
    broker = await startTestBroker()
  })
  after(() => broker.close())
  keyedLogContract('on a Kafka topic through the client', async () => {
    const topic = `keyed-log-${randomUUID()}`
    return {
      open: async () => new KafkaKeyedLog({ topic, bootstrap: broker.bootstrap, clientId: 'keyed-log-test' }),
      sharedByWriters: true,
      dispose: async () => {},
    }
  })
})
