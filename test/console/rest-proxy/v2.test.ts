/**
 * REST Proxy API v2 against a real broker and registry: the produce and consumer examples of Confluent's v2
 * documentation (binary, JSON and Avro embedded formats), and its error bodies.
 */
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { call, endOffsets, readRecords, type Stack, startStack } from './helpers.ts'

const V2 = 'application/vnd.kafka.v2+json'
const type = (format: string) => `application/vnd.kafka.${format}.v2+json`

describe('REST proxy v2', () => {
  let s: Stack
  before(async () => {
    s = await startStack()
    for (const topic of ['test', 'jsontest', 'avrotest']) {
      await call(s.proxy, 'POST', `/v3/clusters/${s.clusterId}/topics`, { topic_name: topic, partitions_count: 1 })
    }
  })
  after(() => s.close())

  test('topic and broker metadata', async () => {
    const topics = await call(s.proxy, 'GET', '/topics')
    assert.equal(topics.status, 200)
    assert.match(topics.contentType ?? '', /application\/vnd\.kafka\.v2\+json/)
    assert.ok(topics.body.includes('test'))
    const topic = await call(s.proxy, 'GET', '/topics/test')
    assert.equal(topic.body.name, 'test')
    assert.equal(topic.body.partitions[0].replicas[0].leader, true)
    const missing = await call(s.proxy, 'GET', '/topics/no-such-topic')
    assert.deepEqual([missing.status, missing.body], [404, { error_code: 40401, message: 'Topic not found.' }])
    assert.equal((await call(s.proxy, 'GET', '/brokers')).body.brokers.length, 1)
  })

  test('produce binary (the docs example) and JSON', async () => {
    const binary = await call(
      s.proxy,
      'POST',
      '/topics/test',
      { records: [{ value: 'S2Fma2E=' }] },
      { 'content-type': type('binary') },
    )
    assert.equal(binary.status, 200, binary.text)
    assert.deepEqual(binary.body, {
      offsets: [{ partition: 0, offset: 0, error_code: null, error: null }],
      key_schema_id: null,
      value_schema_id: null,
    })
    const json = await call(
      s.proxy,
      'POST',
      '/topics/jsontest',
      { records: [{ value: { foo: 'bar' } }, { key: 'k', value: [1, 2] }] },
      { 'content-type': type('json') },
    )
    assert.deepEqual(
      json.body.offsets.map((o: { offset: number }) => o.offset),
      [0, 1],
    )
    const read = await readRecords(s.tb.bootstrap, 'test', 1)
    assert.equal((read[0].value as Buffer).toString(), 'Kafka')
  })

  test('produce Avro with value_schema, then by value_schema_id', async () => {
    const schema = '{"type": "record", "name": "User", "fields": [{"name": "name", "type": "string"}]}'
    const first = await call(
      s.proxy,
      'POST',
      '/topics/avrotest',
      { value_schema: schema, records: [{ value: { name: 'testUser' } }] },
      { 'content-type': type('avro') },
    )
    assert.equal(first.status, 200, first.text)
    const id = first.body.value_schema_id
    assert.equal(typeof id, 'number')
    const second = await call(
      s.proxy,
      'POST',
      '/topics/avrotest',
      { value_schema_id: id, records: [{ value: { name: 'testUser2' } }] },
      { 'content-type': type('avro') },
    )
    assert.equal(second.body.offsets[0].offset, 1)
    const noSchema = await call(
      s.proxy,
      'POST',
      '/topics/avrotest',
      { records: [{ value: { name: 'x' } }] },
      { 'content-type': type('avro') },
    )
    assert.deepEqual([noSchema.status, noSchema.body.error_code], [422, 42202])
    const mismatch = await call(
      s.proxy,
      'POST',
      '/topics/avrotest',
      { value_schema_id: id, records: [{ value: { name: 'ok' } }, { value: { name: 42 } }] },
      { 'content-type': type('avro') },
    )
    assert.deepEqual([mismatch.status, mismatch.body.error_code], [422, 42207])
    assert.equal(await endOffsets(s.tb.bootstrap, 'avrotest', 1), 2, 'a failed request writes none of its records')
  })

  test('produce errors: unknown topic, wrong content type, malformed JSON', async () => {
    const unknown = await call(
      s.proxy,
      'POST',
      '/topics/nope',
      { records: [{ value: 'S2Fma2E=' }] },
      { 'content-type': type('binary') },
    )
    assert.deepEqual([unknown.status, unknown.body], [404, { error_code: 40401, message: 'Topic not found.' }])
    const media = await call(
      s.proxy,
      'POST',
      '/topics/test',
      { records: [{ value: 'S2Fma2E=' }] },
      { 'content-type': V2 },
    )
    assert.deepEqual([media.status, media.body.error_code], [415, 415])
    const malformed = await call(s.proxy, 'POST', '/topics/test', '{"records": [', { 'content-type': type('binary') })
    assert.deepEqual([malformed.status, malformed.body.error_code], [400, 400])
    const badBase64 = await call(
      s.proxy,
      'POST',
      '/topics/test',
      { records: [{ value: '***' }] },
      { 'content-type': type('binary') },
    )
    assert.equal(badBase64.body.error_code, 400)
    assert.equal(await endOffsets(s.tb.bootstrap, 'test', 1), 1)
  })

  test('consumer: create, subscribe, fetch records, commit, committed offsets, delete (the docs walk-through)', async () => {
    const created = await call(
      s.proxy,
      'POST',
      '/consumers/my_json_consumer',
      { name: 'my_consumer_instance', format: 'json', 'auto.offset.reset': 'earliest' },
      { 'content-type': V2 },
    )
    assert.equal(created.status, 200, created.text)
    assert.deepEqual(created.body, {
      instance_id: 'my_consumer_instance',
      base_uri: `${s.proxy.url}/consumers/my_json_consumer/instances/my_consumer_instance`,
    })
    const base = '/consumers/my_json_consumer/instances/my_consumer_instance'
    const dup = await call(
      s.proxy,
      'POST',
      '/consumers/my_json_consumer',
      { name: 'my_consumer_instance', format: 'json' },
      { 'content-type': V2 },
    )
    assert.deepEqual([dup.status, dup.body.error_code], [409, 40902])
    const sub = await call(s.proxy, 'POST', `${base}/subscription`, { topics: ['jsontest'] }, { 'content-type': V2 })
    assert.equal(sub.status, 204)
    assert.deepEqual((await call(s.proxy, 'GET', `${base}/subscription`)).body, { topics: ['jsontest'] })
    const wrongFormat = await call(s.proxy, 'GET', `${base}/records`, undefined, { accept: type('binary') })
    assert.deepEqual([wrongFormat.status, wrongFormat.body.error_code], [406, 40601])
    // The member joins the group in the background: poll as REST Proxy clients do.
    // biome-ignore lint/suspicious/noExplicitAny: JSON records
    let records: any[] = []
    for (let i = 0; i < 20 && records.length < 2; i++) {
      const r = await call(s.proxy, 'GET', `${base}/records?timeout=1000`, undefined, { accept: type('json') })
      assert.equal(r.status, 200)
      assert.match(r.contentType ?? '', /application\/vnd\.kafka\.json\.v2\+json/)
      records = records.concat(r.body)
    }
    assert.deepEqual(records, [
      { topic: 'jsontest', key: null, value: { foo: 'bar' }, partition: 0, offset: 0 },
      { topic: 'jsontest', key: 'k', value: [1, 2], partition: 0, offset: 1 },
    ])
    const commit = await call(s.proxy, 'POST', `${base}/offsets`, undefined, { 'content-type': V2 })
    assert.equal(commit.status, 200)
    assert.deepEqual(commit.body.offsets, [{ topic: 'jsontest', partition: 0, consumed: 1, committed: 2 }])
    const explicit = await call(
      s.proxy,
      'POST',
      `${base}/offsets`,
      { offsets: [{ topic: 'jsontest', partition: 0, offset: 0 }] },
      { 'content-type': V2 },
    )
    assert.equal(explicit.status, 200)
    // Confluent's "committed offsets" is a GET with a body, which fetch() refuses to send: plain node:http does.
    const committed = await new Promise<{ body: unknown }>((resolve, reject) => {
      const payload = JSON.stringify({ partitions: [{ topic: 'jsontest', partition: 0 }] })
      const r = request(
        `${s.proxy.url}${base}/offsets`,
        { method: 'GET', headers: { 'content-type': V2, 'content-length': Buffer.byteLength(payload) } },
        (res) => {
          let text = ''
          res.on('data', (d) => (text += d))
          res.on('end', () => resolve({ body: JSON.parse(text) }))
        },
      )
      r.on('error', reject)
      r.end(payload)
    })
    assert.deepEqual(committed.body, { offsets: [{ topic: 'jsontest', partition: 0, offset: 1, metadata: '' }] })
    assert.equal((await call(s.proxy, 'DELETE', base, undefined, { 'content-type': V2 })).status, 204)
    const gone = await call(s.proxy, 'GET', `${base}/records`, undefined, { accept: type('json') })
    assert.deepEqual([gone.status, gone.body], [404, { error_code: 40403, message: 'Consumer instance not found.' }])
  })

  test('consumer with the avro format decodes through the registry', async () => {
    const base = '/consumers/avro_group/instances/a1'
    await call(
      s.proxy,
      'POST',
      '/consumers/avro_group',
      { name: 'a1', format: 'avro', 'auto.offset.reset': 'earliest' },
      { 'content-type': V2 },
    )
    await call(s.proxy, 'POST', `${base}/subscription`, { topics: ['avrotest'] }, { 'content-type': V2 })
    // biome-ignore lint/suspicious/noExplicitAny: JSON records
    let records: any[] = []
    for (let i = 0; i < 20 && records.length < 2; i++) {
      records = records.concat(
        (await call(s.proxy, 'GET', `${base}/records?timeout=1000`, undefined, { accept: type('avro') })).body,
      )
    }
    assert.deepEqual(
      records.map((r) => r.value),
      [{ name: 'testUser' }, { name: 'testUser2' }],
    )
    await call(s.proxy, 'DELETE', base)
  })

  // biome-ignore lint/suspicious/noExplicitAny: JSON records
  async function poll(base: string, format: string, want: number, tries = 20): Promise<any[]> {
    // biome-ignore lint/suspicious/noExplicitAny: JSON records
    let records: any[] = []
    for (let i = 0; i < tries && records.length < want; i++) {
      const r = await call(s.proxy, 'GET', `${base}/records?timeout=1000`, undefined, { accept: type(format) })
      assert.equal(r.status, 200, r.text)
      records = records.concat(r.body)
    }
    return records
  }

  test('consumer: seek a subscribed member to an offset, to the beginning and to the end', async () => {
    const base = '/consumers/seek_group/instances/seeker'
    await call(
      s.proxy,
      'POST',
      '/consumers/seek_group',
      { name: 'seeker', format: 'json', 'auto.offset.reset': 'earliest' },
      { 'content-type': V2 },
    )
    await call(s.proxy, 'POST', `${base}/subscription`, { topics: ['jsontest'] }, { 'content-type': V2 })
    assert.deepEqual(
      (await poll(base, 'json', 2)).map((r) => r.offset),
      [0, 1],
    )
    const seek = await call(
      s.proxy,
      'POST',
      `${base}/positions`,
      { offsets: [{ topic: 'jsontest', partition: 0, offset: 1 }] },
      { 'content-type': V2 },
    )
    assert.equal(seek.status, 204, seek.text)
    assert.deepEqual(
      (await poll(base, 'json', 1)).map((r) => r.offset),
      [1],
    )
    const begin = await call(
      s.proxy,
      'POST',
      `${base}/positions/beginning`,
      { partitions: [{ topic: 'jsontest', partition: 0 }] },
      { 'content-type': V2 },
    )
    assert.equal(begin.status, 204, begin.text)
    assert.deepEqual(
      (await poll(base, 'json', 2)).map((r) => r.offset),
      [0, 1],
    )
    await call(
      s.proxy,
      'POST',
      `${base}/positions/end`,
      { partitions: [{ topic: 'jsontest', partition: 0 }] },
      { 'content-type': V2 },
    )
    assert.deepEqual(await poll(base, 'json', 1, 2), [])
    const notHeld = await call(
      s.proxy,
      'POST',
      `${base}/positions`,
      { offsets: [{ topic: 'test', partition: 0, offset: 0 }] },
      { 'content-type': V2 },
    )
    assert.deepEqual([notHeld.status, notHeld.body.error_code], [409, 40903])
    await call(s.proxy, 'DELETE', base)
  })

  test('consumer: manual assignment reads without joining the group, seeks, and commits', async () => {
    const base = '/consumers/assign_group/instances/a1'
    await call(
      s.proxy,
      'POST',
      '/consumers/assign_group',
      { name: 'a1', format: 'binary', 'auto.offset.reset': 'earliest' },
      { 'content-type': V2 },
    )
    const assigned = await call(
      s.proxy,
      'POST',
      `${base}/assignments`,
      { partitions: [{ topic: 'test', partition: 0 }] },
      { 'content-type': V2 },
    )
    assert.equal(assigned.status, 204, assigned.text)
    assert.deepEqual((await call(s.proxy, 'GET', `${base}/assignments`)).body, {
      partitions: [{ topic: 'test', partition: 0 }],
    })
    const first = await poll(base, 'binary', 1)
    assert.deepEqual(first, [{ topic: 'test', key: null, value: 'S2Fma2E=', partition: 0, offset: 0 }])
    await call(
      s.proxy,
      'POST',
      `${base}/positions/beginning`,
      { partitions: [{ topic: 'test', partition: 0 }] },
      { 'content-type': V2 },
    )
    assert.deepEqual(
      (await poll(base, 'binary', 1)).map((r) => r.offset),
      [0],
    )
    const sub = await call(s.proxy, 'POST', `${base}/subscription`, { topics: ['test'] }, { 'content-type': V2 })
    assert.deepEqual([sub.status, sub.body.error_code], [409, 40903])
    const commit = await call(s.proxy, 'POST', `${base}/offsets`, undefined, { 'content-type': V2 })
    assert.deepEqual(commit.body.offsets, [{ topic: 'test', partition: 0, consumed: 0, committed: 1 }])
    const groups = await call(s.proxy, 'GET', `/v3/clusters/${s.clusterId}/consumer-groups/assign_group/lags`)
    assert.deepEqual(
      groups.body.data.map((l: { current_offset: number }) => l.current_offset),
      [1],
    )
    await call(s.proxy, 'DELETE', base)
  })
})
