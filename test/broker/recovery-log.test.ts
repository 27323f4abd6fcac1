/**
 * A broker started after an unclean shutdown says what recovery did: per partition, the segments and bytes it
 * checked, what it truncated and where, where producer state came from and the transactions left open; and one
 * summary line for the whole broker. After a clean shutdown it says nothing of the kind.
 */
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { encodeRecordBatchSync } from '../../src/protocol/record-batch.ts'
import { type ChildBroker, spawnBroker, tempDir } from '../helpers/broker.ts'

describe('recovery is logged at start', () => {
  const data = tempDir('tributary-recovery-log-')
  let broker: ChildBroker | undefined
  after(async () => {
    await broker?.kill()
    data.remove()
  })

  test('after SIGKILL with a torn batch and an open transaction; and nothing after a clean stop', {
    timeout: 120000,
  }, async () => {
    broker = await spawnBroker(data.path)
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, clientId: 'recovery-log' })
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'events', numPartitions: 1 }] })
    await admin.disconnect()
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic: 'events', acks: -1, messages: [{ value: 'one' }, { value: 'two' }] })
    await producer.disconnect()
    const txProducer = kafka.producer({ transactionalId: 'left-open', maxInFlightRequests: 1, idempotent: true })
    await txProducer.connect()
    const txn = await txProducer.transaction()
    await txn.send({ topic: 'events', acks: -1, messages: [{ value: 'pending' }] })
    await broker.kill('SIGKILL')
    await txProducer.disconnect().catch(() => {})

    // Half a batch at the end of the active segment, as a write cut short by the crash leaves it.
    const segment = path.join(data.path, 'events-0', '00000000000000000000.log')
    const sizeBefore = fs.statSync(segment).size
    const torn = encodeRecordBatchSync({ records: [{ value: 'x'.repeat(200) }] })
    fs.appendFileSync(segment, torn.subarray(0, 100))

    broker = await spawnBroker(data.path)
    const out = broker.output()
    const line = out
      .split('\n')
      .find((l) => l.includes(`recovered ${path.join(data.path, 'events-0')} after an unclean shutdown`))
    assert.ok(line, out)
    assert.match(line, /WARN/)
    assert.match(line, new RegExp(`checked 1 segment\\(s\\), ${sizeBefore} bytes in 2 batches`))
    assert.match(
      line,
      new RegExp(`truncated 100 bytes \\(00000000000000000000\\.log at ${sizeBefore}: torn batch at ${sizeBefore} `),
    )
    assert.match(line, /log end offset 3/)
    assert.match(line, /producer state from the log \+ 1 batch header\(s\)/)
    assert.match(line, /1 open transaction\(s\)/)
    assert.equal(fs.statSync(segment).size, sizeBefore)
    const summary = out.split('\n').find((l) => l.includes('[broker] recovered after an unclean shutdown'))
    assert.ok(summary, out)
    const fields = JSON.parse(summary.slice(summary.indexOf('{')))
    assert.ok(fields.uncleanPartitions >= 1)
    assert.equal(fields.bytesTruncated, 100)
    assert.equal(fields.partitionsTruncated, 1)
    assert.equal(fields.openTransactions, 1)
    assert.equal(fields.damagedSegments, 0)

    await broker.kill('SIGTERM')
    broker = await spawnBroker(data.path)
    assert.doesNotMatch(broker.output(), /recovered/)
  })
})
