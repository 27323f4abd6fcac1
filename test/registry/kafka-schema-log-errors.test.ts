/**
 * A schema registry whose Kafka cannot be reached says which address it tried and why, instead of the client
 * library's "metadata failed 4 times.".
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { describe, it } from 'node:test'
import { KafkaSchemaLog } from '../../src/registry/kafka-schema-log.ts'

/** A loopback port that nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('schema log on an unreachable Kafka', () => {
  it('names the bootstrap address and the cause', async () => {
    const port = await closedPort()
    const log = new KafkaSchemaLog({ bootstrap: `127.0.0.1:${port}` })
    try {
      await assert.rejects(
        log.replay(() => {}),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'TRB_REGISTRY_KAFKA_UNREACHABLE')
          assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`))
          assert.match(err.message, /ECONNREFUSED/)
          assert.match(err.message, /nothing is listening/)
          return true
        },
      )
    } finally {
      await log.close()
    }
  })
})
