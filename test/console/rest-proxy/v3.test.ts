/**
 * REST Proxy API v3 against a real broker and schema registry, built from the request and response examples of
 * Confluent's v3 OpenAPI document, plus bad input: each answer must carry Confluent's error body and nothing may be
 * written to the topic.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Consumer } from '@platformatic/kafka'
import { AvroSerde } from '../../../src/registry/index.ts'
import { call, endOffsets, readRecords, reports, type Stack, startStack } from './helpers.ts'

describe('REST proxy v3', () => {
  let s: Stack
  const v3 = (rest = '') => `/v3/clusters/${s.clusterId}${rest}`

  before(async () => {
    s = await startStack({ maxRecordBytes: 64 * 1024 })
  })
  after(() => s.close())

  test('clusters and brokers have Confluent shapes and related links', async () => {
    const list = await call(s.proxy, 'GET', '/v3/clusters')
    assert.equal(list.status, 200)
    assert.equal(list.body.kind, 'KafkaClusterList')
    const cluster = list.body.data[0]
    assert.equal(cluster.kind, 'KafkaCluster')
    assert.equal(cluster.metadata.self, `${s.proxy.url}${v3()}`)
    assert.equal(cluster.metadata.resource_name, `crn:///kafka=${s.clusterId}`)
    assert.equal(cluster.topics.related, `${s.proxy.url}${v3('/topics')}`)
    const brokers = await call(s.proxy, 'GET', v3('/brokers'))
    assert.equal(brokers.body.kind, 'KafkaBrokerList')
    assert.equal(brokers.body.data[0].kind, 'KafkaBroker')
    assert.equal(brokers.body.data[0].port, Number(s.tb.bootstrap.split(':')[1]))
    const brokerId = brokers.body.data[0].broker_id
    const configs = await call(s.proxy, 'GET', v3(`/brokers/${brokerId}/configs`))
    assert.equal(configs.body.kind, 'KafkaBrokerConfigList')
    assert.ok(configs.body.data.length > 0)
    assert.equal(configs.body.data[0].broker_id, brokerId)
    const all = await call(s.proxy, 'GET', v3('/brokers/-/configs'))
    assert.equal(all.body.data.length, configs.body.data.length)
    // Tributary's broker has no dynamic broker configs: the refusal comes back as Confluent's error body.
    const alter = await call(s.proxy, 'PUT', v3(`/brokers/${brokerId}/configs/log.retention.ms`), { value: '1000' })
    assert.equal(alter.status, 400)
    assert.equal(alter.body.error_code, 40002)
    assert.match(alter.body.message, /static/)
    const unknown = await call(s.proxy, 'GET', '/v3/clusters/no-such-cluster/topics')
    assert.equal(unknown.status, 404)
    assert.deepEqual(unknown.body, { error_code: 404, message: 'Cluster no-such-cluster cannot be found.' })
  })

  test('topics: create (uniform_replication example), get, configs, partitions, add partitions, delete', async () => {
    const created = await call(s.proxy, 'POST', v3('/topics'), {
      topic_name: 'topic-X',
      partitions_count: 2,
      replication_factor: 1,
      configs: [
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'compression.type', value: 'gzip' },
      ],
    })
    assert.equal(created.status, 201, created.text)
    assert.equal(created.body.kind, 'KafkaTopic')
    assert.equal(created.body.topic_name, 'topic-X')
    assert.equal(created.body.partitions_count, 2)
    assert.equal(created.body.replication_factor, 1)
    assert.equal(created.body.is_internal, false)

    const again = await call(s.proxy, 'POST', v3('/topics'), { topic_name: 'topic-X', partitions_count: 1 })
    assert.equal(again.status, 400)
    assert.equal(again.body.error_code, 40002)

    const dry = await call(s.proxy, 'POST', v3('/topics'), {
      topic_name: 'topic-dry',
      partitions_count: 64,
      replication_factor: 3,
      validate_only: true,
    })
    assert.equal(dry.status, 400)
    assert.deepEqual(dry.body, {
      error_code: 40002,
      message: 'Replication factor: 3 larger than available brokers: 1.',
    })

    const listed = await call(s.proxy, 'GET', v3('/topics'))
    assert.equal(listed.body.kind, 'KafkaTopicList')
    assert.ok(listed.body.data.some((t: { topic_name: string }) => t.topic_name === 'topic-X'))

    const config = await call(s.proxy, 'GET', v3('/topics/topic-X/configs/cleanup.policy'))
    assert.equal(config.status, 200, config.text)
    assert.equal(config.body.kind, 'KafkaTopicConfig')
    assert.equal(config.body.value, 'compact')
    assert.equal(config.body.source, 'DYNAMIC_TOPIC_CONFIG')
    assert.equal(config.body.is_default, false)

    const alter = await call(s.proxy, 'POST', v3('/topics/topic-X/configs:alter'), {
      data: [
        { name: 'cleanup.policy', operation: 'DELETE' },
        { name: 'compression.type', value: 'lz4' },
      ],
    })
    assert.equal(alter.status, 204, alter.text)
    const after1 = await call(s.proxy, 'GET', v3('/topics/topic-X/configs'))
    const byName = new Map(after1.body.data.map((c: { name: string; value: string }) => [c.name, c]))
    assert.equal((byName.get('compression.type') as { value: string }).value, 'lz4')
    assert.equal((byName.get('cleanup.policy') as { source: string }).source, 'DEFAULT_CONFIG')

    const put = await call(s.proxy, 'PUT', v3('/topics/topic-X/configs/retention.ms'), { value: '3600000' })
    assert.equal(put.status, 204)
    assert.equal((await call(s.proxy, 'GET', v3('/topics/topic-X/configs/retention.ms'))).body.value, '3600000')

    const partitions = await call(s.proxy, 'GET', v3('/topics/topic-X/partitions'))
    assert.equal(partitions.body.kind, 'KafkaPartitionList')
    assert.deepEqual(
      partitions.body.data.map((p: { partition_id: number }) => p.partition_id),
      [0, 1],
    )
    const replicas = await call(s.proxy, 'GET', v3('/topics/topic-X/partitions/1/replicas'))
    assert.equal(replicas.body.data[0].is_leader, true)
    const missing = await call(s.proxy, 'GET', v3('/topics/topic-X/partitions/7'))
    assert.deepEqual(missing.body, { error_code: 40402, message: 'Partition not found.' })

    const grown = await call(s.proxy, 'PATCH', v3('/topics/topic-X'), { partitions_count: 3 })
    assert.equal(grown.status, 200, grown.text)
    assert.equal(grown.body.partitions_count, 3)
    const shrink = await call(s.proxy, 'PATCH', v3('/topics/topic-X'), { partitions_count: 1 })
    assert.deepEqual(shrink.body, { error_code: 40002, message: 'Topic already has 3 partitions.' })

    assert.equal((await call(s.proxy, 'DELETE', v3('/topics/topic-X'))).status, 204)
    const gone = await call(s.proxy, 'GET', v3('/topics/topic-X'))
    assert.equal(gone.status, 404)
    assert.equal(gone.body.error_code, 40403)
  })

  test('produce the binary_and_json example: key, JSON value, headers, partition and timestamp arrive as sent', async () => {
    await call(s.proxy, 'POST', v3('/topics'), { topic_name: 'topic-1', partitions_count: 2 })
    const res = await call(s.proxy, 'POST', v3('/topics/topic-1/records'), {
      partition_id: 1,
      headers: [
        { name: 'Header-1', value: 'SGVhZGVyLTE=' },
        { name: 'Header-2', value: 'SGVhZGVyLTI=' },
      ],
      key: { type: 'BINARY', data: 'Zm9vYmFy' },
      value: { type: 'JSON', data: { foo: 'bar' } },
      timestamp: '2021-02-05T19:14:42Z',
    })
    assert.equal(res.status, 200)
    assert.match(res.contentType ?? '', /application\/json/)
    const [report] = reports(res.text)
    assert.deepEqual(report, {
      error_code: 200,
      cluster_id: s.clusterId,
      topic_name: 'topic-1',
      partition_id: 1,
      offset: 0,
      timestamp: '2021-02-05T19:14:42.000Z',
      key: { type: 'BINARY', size: 6 },
      value: { type: 'JSON', size: 13 },
    })
    const [m] = await readRecords(s.tb.bootstrap, 'topic-1', 1)
    assert.equal(m.partition, 1)
    assert.equal((m.key as Buffer).toString(), 'foobar')
    assert.deepEqual(JSON.parse((m.value as Buffer).toString()), { foo: 'bar' })
    assert.equal(m.timestamp, BigInt(Date.parse('2021-02-05T19:14:42Z')))
    const headers = [...(m.headers as Map<Buffer, Buffer>)].map(([k, v]) => [k.toString(), v.toString()])
    assert.deepEqual(headers, [
      ['Header-1', 'Header-1'],
      ['Header-2', 'Header-2'],
    ])
  })

  test('streamed produce: concatenated records on one connection get one report each, in order', async () => {
    await call(s.proxy, 'POST', v3('/topics'), { topic_name: 'stream-1', partitions_count: 1 })
    const records = Array.from({ length: 50 }, (_, i) => ({ value: { type: 'STRING', data: `m${i}` } }))
    const chunks = records.map((r) => JSON.stringify(r))
    // A body sent in pieces that split records, as a chunked upload does.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const all = Buffer.from(chunks.join('\n'))
        for (let i = 0; i < all.length; i += 37) controller.enqueue(all.subarray(i, i + 37))
        controller.close()
      },
    })
    const res = await fetch(`${s.proxy.url}${v3('/topics/stream-1/records')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit)
    assert.equal(res.status, 200)
    const out = reports(await res.text())
    assert.equal(out.length, 50)
    assert.deepEqual(
      out.map((r) => [r.error_code, r.offset]),
      records.map((_, i) => [200, i]),
    )
    const read = await readRecords(s.tb.bootstrap, 'stream-1', 50)
    assert.deepEqual(
      read.map((m) => (m.value as Buffer).toString()),
      records.map((_, i) => `m${i}`),
    )
  })

  test('AVRO with a raw schema and subject (binary_and_avro example) registers it; schema_id and latest work', async () => {
    await call(s.proxy, 'POST', v3('/topics'), { topic_name: 'avro-1', partitions_count: 1 })
    const res = await call(s.proxy, 'POST', v3('/topics/avro-1/records'), {
      key: { type: 'BINARY', data: 'Zm9vYmFy' },
      value: { type: 'AVRO', subject: 'topic-1-key', schema: '{"type":"string"}', data: 'foobar' },
    })
    const [report] = reports(res.text)
    assert.equal(report.error_code, 200, res.text)
    assert.equal(report.value.type, 'AVRO')
    assert.equal(report.value.subject, 'topic-1-key')
    assert.equal(report.value.schema_version, 1)
    assert.equal(typeof report.value.schema_id, 'number')
    // The same schema by id, and by the subject's latest version (no type: "the record is assumed to use a schema").
    const user = {
      type: 'record',
      name: 'User',
      namespace: 'com.example',
      fields: [
        { name: 'id', type: 'long' },
        { name: 'name', type: 'string' },
      ],
    }
    const reg = await fetch(`${s.registry.url}/subjects/avro-1-value/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: JSON.stringify(user) }),
    })
    const { id } = (await reg.json()) as { id: number }
    const byId = reports(
      (
        await call(s.proxy, 'POST', v3('/topics/avro-1/records'), {
          value: { schema_id: id, data: { id: 1, name: 'ada' } },
        })
      ).text,
    )[0]
    assert.equal(byId.error_code, 200, JSON.stringify(byId))
    assert.deepEqual(byId.value, {
      type: 'AVRO',
      subject: 'avro-1-value',
      schema_id: id,
      schema_version: 1,
      size: byId.value.size,
    })
    const latest = reports(
      (await call(s.proxy, 'POST', v3('/topics/avro-1/records'), { value: { data: { id: 2, name: 'bob' } } })).text,
    )[0]
    assert.equal(latest.error_code, 200, JSON.stringify(latest))
    assert.equal(latest.value.schema_id, id)
    const read = await readRecords(s.tb.bootstrap, 'avro-1', 3)
    const serde = new AvroSerde({ registry: s.registry.url })
    assert.equal(await serde.deserialize(read[0].value as Buffer), 'foobar')
    assert.deepEqual({ ...((await serde.deserialize(read[2].value as Buffer)) as object) }, { id: 2, name: 'bob' })
  })

  test('JSONSCHEMA and PROTOBUF values through the registry', async () => {
    await call(s.proxy, 'POST', v3('/topics'), { topic_name: 'schemas-1', partitions_count: 1 })
    const json = reports(
      (
        await call(s.proxy, 'POST', v3('/topics/schemas-1/records'), {
          value: {
            type: 'JSONSCHEMA',
            schema: JSON.stringify({ type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] }),
            data: { n: 7 },
          },
        })
      ).text,
    )[0]
    assert.equal(json.error_code, 200, JSON.stringify(json))
    assert.equal(json.value.type, 'JSONSCHEMA')
    const proto = reports(
      (
        await call(s.proxy, 'POST', v3('/topics/schemas-1/records'), {
          key: { type: 'PROTOBUF', schema: 'syntax = "proto3"; message K { string id = 1; }', data: { id: 'k-1' } },
          value: { type: 'STRING', data: 'v' },
        })
      ).text,
    )[0]
    assert.equal(proto.error_code, 200, JSON.stringify(proto))
    assert.equal(proto.key.type, 'PROTOBUF')
    assert.equal(proto.key.subject, 'schemas-1-key')
  })

  test('bad input gets Confluent error bodies and writes nothing', async () => {
    await call(s.proxy, 'POST', v3('/topics'), { topic_name: 'bad-1', partitions_count: 1 })
    const path = v3('/topics/bad-1/records')

    const malformed = await call(s.proxy, 'POST', path, '{"value": {"type": "STRING", "data": "x"')
    assert.equal(malformed.status, 400)
    assert.equal(malformed.body.error_code, 400)

    const empty = await call(s.proxy, 'POST', path, '')
    assert.deepEqual(empty.body, {
      error_code: 42206,
      message: 'Payload error. Request body is empty. Data is required.',
    })
    assert.equal(empty.status, 422)

    const media = await call(s.proxy, 'POST', path, 'x', { 'content-type': 'text/plain' })
    assert.deepEqual([media.status, media.body], [415, { error_code: 415, message: 'HTTP 415 Unsupported Media Type' }])

    const badBase64 = reports((await call(s.proxy, 'POST', path, { value: { type: 'BINARY', data: 1 } })).text)
    assert.deepEqual(badBase64, [{ error_code: 400, message: 'Bad Request: data=1 is not a base64 string.' }])

    const unknownTopic = reports(
      (await call(s.proxy, 'POST', v3('/topics/no-such-topic/records'), { value: { type: 'STRING', data: 'x' } })).text,
    )
    assert.deepEqual(unknownTopic, [{ error_code: 40403, message: 'This server does not host this topic-partition.' }])

    const big = reports(
      (await call(s.proxy, 'POST', path, { value: { type: 'STRING', data: 'x'.repeat(70 * 1024) } })).text,
    )
    assert.deepEqual(big, [
      {
        error_code: 413,
        message: 'The request included a message larger than the maximum message size the server can accept.',
      },
    ])

    // Schema mismatch: the subject holds a record schema; a string does not fit it.
    await fetch(`${s.registry.url}/subjects/bad-1-value/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({
        schema: JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }] }),
      }),
    })
    const mismatch = reports(
      (await call(s.proxy, 'POST', path, { value: { type: 'AVRO', data: { a: 'not an int' } } })).text,
    )
    assert.equal(mismatch.length, 1)
    assert.equal(mismatch[0].error_code, 42207)
    assert.match(mismatch[0].message, /^Error serializing message\./)

    // Good records around a bad one in one stream: only the good ones are written.
    const mixed = reports(
      (
        await call(
          s.proxy,
          'POST',
          path,
          `${JSON.stringify({ value: { type: 'STRING', data: 'ok-1' } })}${JSON.stringify({ value: { type: 'BINARY', data: '%%%' } })}${JSON.stringify({ value: { type: 'STRING', data: 'ok-2' } })}`,
        )
      ).text,
    )
    assert.deepEqual(
      mixed.map((r) => r.error_code),
      [200, 400, 200],
    )
    assert.equal(await endOffsets(s.tb.bootstrap, 'bad-1', 1), 2)
  })

  test('records:batch answers 207 with successes and failures', async () => {
    await call(s.proxy, 'POST', v3('/topics'), { topic_name: 'batch-1', partitions_count: 1 })
    const res = await call(s.proxy, 'POST', v3('/topics/batch-1/records:batch'), {
      entries: [
        { id: '1', value: { type: 'STRING', data: 'My first message' } },
        { id: '2', value: { type: 'BINARY', data: 1 } },
      ],
    })
    assert.equal(res.status, 207)
    assert.equal(res.body.successes[0].id, '1')
    assert.equal(res.body.successes[0].offset, 0)
    assert.deepEqual(res.body.failures, [
      { id: '2', error_code: 400, message: 'Bad Request: data=1 is not a base64 string.' },
    ])
    const dup = await call(s.proxy, 'POST', v3('/topics/batch-1/records:batch'), {
      entries: [
        { id: 'a', value: { type: 'STRING', data: 'x' } },
        { id: 'a', value: { type: 'STRING', data: 'y' } },
      ],
    })
    assert.deepEqual([dup.status, dup.body], [422, { error_code: 42208, message: 'Batch entry IDs are not distinct.' }])
    assert.equal(await endOffsets(s.tb.bootstrap, 'batch-1', 1), 1)
  })

  test('consumer groups: consumers, assignments, lags and lag summary', async () => {
    await call(s.proxy, 'POST', v3('/topics'), { topic_name: 'lag-1', partitions_count: 1 })
    const body = Array.from({ length: 5 }, (_, i) => JSON.stringify({ value: { type: 'STRING', data: `r${i}` } })).join(
      '',
    )
    await call(s.proxy, 'POST', v3('/topics/lag-1/records'), body)
    const consumer = new Consumer({ clientId: 'lag-client', groupId: 'lag-group', bootstrapBrokers: [s.tb.bootstrap] })
    try {
      const stream = await consumer.consume({ topics: ['lag-1'], mode: 'earliest', autocommit: false })
      let seen = 0
      for await (const m of stream) {
        if (++seen === 2) {
          await m.commit()
          break
        }
      }
      const group = await call(s.proxy, 'GET', v3('/consumer-groups/lag-group'))
      assert.equal(group.status, 200, group.text)
      assert.equal(group.body.kind, 'KafkaConsumerGroup')
      assert.equal(group.body.state, 'STABLE')
      const consumers = await call(s.proxy, 'GET', v3('/consumer-groups/lag-group/consumers'))
      assert.equal(consumers.body.data.length, 1)
      assert.equal(consumers.body.data[0].client_id, 'lag-client')
      const consumerId = consumers.body.data[0].consumer_id
      const assignments = await call(
        s.proxy,
        'GET',
        v3(`/consumer-groups/lag-group/consumers/${encodeURIComponent(consumerId)}/assignments`),
      )
      assert.deepEqual(
        assignments.body.data.map((a: { topic_name: string; partition_id: number }) => [a.topic_name, a.partition_id]),
        [['lag-1', 0]],
      )
      const lags = await call(s.proxy, 'GET', v3('/consumer-groups/lag-group/lags'))
      assert.equal(lags.body.kind, 'KafkaConsumerLagList')
      assert.deepEqual(
        lags.body.data.map(
          (l: { current_offset: number; log_end_offset: number; lag: number; consumer_id: string }) => [
            l.current_offset,
            l.log_end_offset,
            l.lag,
            l.consumer_id,
          ],
        ),
        [[2, 5, 3, consumerId]],
      )
      const summary = await call(s.proxy, 'GET', v3('/consumer-groups/lag-group/lag-summary'))
      assert.equal(summary.body.kind, 'KafkaConsumerGroupLagSummary')
      assert.equal(summary.body.max_lag, 3)
      assert.equal(summary.body.total_lag, 3)
      assert.equal(summary.body.max_lag_topic_name, 'lag-1')
      await stream.close()
    } finally {
      await consumer.close(true)
    }
    const missing = await call(s.proxy, 'GET', v3('/consumer-groups/no-such-group'))
    assert.equal(missing.status, 404)
  })

  test('server-sent events: a live tail sees records produced after it started', async () => {
    await call(s.proxy, 'POST', v3('/topics'), { topic_name: 'tail-1', partitions_count: 2 })
    const controller = new AbortController()
    const res = await fetch(`${s.proxy.url}${v3('/topics/tail-1/records:tail')}`, { signal: controller.signal })
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/)
    const reader = res.body!.getReader()
    let buffered = ''
    const nextEvent = async (): Promise<{ event: string; data: unknown; id?: string }> => {
      for (;;) {
        const end = buffered.indexOf('\n\n')
        if (end >= 0) {
          const block = buffered.slice(0, end)
          buffered = buffered.slice(end + 2)
          const fields = Object.fromEntries(
            block
              .split('\n')
              .filter((l) => !l.startsWith(':') && l.includes(':'))
              .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
          )
          if (fields.event) return { event: fields.event, data: JSON.parse(fields.data), id: fields.id }
          continue
        }
        const { value, done } = await reader.read()
        if (done) throw new Error('stream ended')
        buffered += Buffer.from(value).toString()
      }
    }
    assert.equal((await nextEvent()).event, 'ready')
    await call(s.proxy, 'POST', v3('/topics/tail-1/records'), {
      partition_id: 1,
      key: { type: 'STRING', data: 'k' },
      value: { type: 'JSON', data: { live: true } },
    })
    const e = await nextEvent()
    assert.equal(e.event, 'record')
    assert.equal(e.id, '1:0')
    const d = e.data as Record<string, unknown>
    assert.equal(d.partition_id, 1)
    assert.deepEqual(d.key, { type: 'STRING', data: 'k' })
    assert.deepEqual(d.value, { type: 'JSON', data: { live: true } })
    controller.abort()
    await reader.cancel().catch(() => {})
  })

  test('server-sent events: group lag stream', async () => {
    const res = await fetch(`${s.proxy.url}${v3('/consumer-groups/lag-group/lags:stream?interval_ms=200')}`)
    const reader = res.body!.getReader()
    let text = ''
    while (!text.includes('event: lag')) text += Buffer.from((await reader.read()).value!).toString()
    const data = JSON.parse(/event: lag\ndata: (.*)\n/.exec(text)![1])
    assert.equal(data.kind, 'KafkaConsumerGroupLagSummary')
    assert.equal(data.total_lag, 3)
    assert.equal(data.lags[0].topic_name, 'lag-1')
    await reader.cancel()
  })
})
