/**
 * Streams configuration: interactive.queries.* are declared, validated and defaulted with the other settings, so a
 * bad value fails when the KafkaStreams instance is created, not when it starts.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { KafkaStreams, StreamsBuilder, streamsConfig } from '../../../src/streams/index.ts'

const base = { 'application.id': 'cfg-test', 'bootstrap.servers': '127.0.0.1:9' }

describe('streams config', () => {
  it('reads interactive.queries.port and .host, defaulting the host to loopback', () => {
    assert.equal(streamsConfig(base).interactiveQueries, undefined)
    assert.deepEqual(streamsConfig({ ...base, 'interactive.queries.port': 0 }).interactiveQueries, {
      port: 0,
      host: '127.0.0.1',
    })
    assert.deepEqual(
      streamsConfig({ ...base, 'interactive.queries.port': '7070', 'interactive.queries.host': 'localhost' })
        .interactiveQueries,
      { port: 7070, host: 'localhost' },
    )
  })

  it('refuses a bad port or host with a clear error when the instance is created', () => {
    for (const port of ['http', -1, 70000, 1.5]) {
      assert.throws(() => streamsConfig({ ...base, 'interactive.queries.port': port }), {
        code: 'TRB_STREAMS_INVALID_CONFIG',
        message: /interactive\.queries\.port must be a port number/,
      })
    }
    assert.throws(() => streamsConfig({ ...base, 'interactive.queries.port': 0, 'interactive.queries.host': ' ' }), {
      code: 'TRB_STREAMS_INVALID_CONFIG',
      message: /interactive\.queries\.host/,
    })
    const builder = new StreamsBuilder()
    builder.stream('in').to('out')
    assert.throws(() => new KafkaStreams(builder.build(), { ...base, 'interactive.queries.port': 'x' }), {
      code: 'TRB_STREAMS_INVALID_CONFIG',
    })
  })

  it('reads compression.type (or producer.compression.type) and refuses an unknown codec', () => {
    const builder = new StreamsBuilder()
    builder.stream('in').to('out')
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
      new KafkaStreams(builder.build(), { ...base, 'compression.type': codec })
      new KafkaStreams(builder.build(), { ...base, 'producer.compression.type': codec })
    }
    assert.throws(() => new KafkaStreams(builder.build(), { ...base, 'compression.type': 'brotli' }), {
      code: 'TRB_STREAMS_INVALID_CONFIG',
      message: /compression\.type must be one of none, gzip, snappy, lz4, zstd, got "brotli"/,
    })
  })
})
