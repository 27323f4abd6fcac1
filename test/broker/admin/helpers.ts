/**
 * Admin handler tests run the handlers against a real TopicRegistry over a real LogManager in a temp dir, and pass
 * every request and response through the generated codecs at the version under test.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrokerConfig, DEFAULT_BROKER_CONFIG } from '../../../src/broker/config.ts'
import type { HandlerSpec, RequestContext } from '../../../src/broker/handler.ts'
import { MetadataLog } from '../../../src/broker/metadata-log.ts'
import { ProducerIdManager } from '../../../src/broker/producer-id-manager.ts'
import { ReplicaManager } from '../../../src/broker/replica-manager.ts'
import { AclStore } from '../../../src/broker/security/acl-store.ts'
import { ClientQuotaStore } from '../../../src/broker/security/quota-store.ts'
import { ScramCredentialStore } from '../../../src/broker/security/scram-store.ts'
import type { BrokerServices } from '../../../src/broker/services.ts'
import { OFFSETS_TOPIC, TopicRegistry } from '../../../src/broker/topic-registry.ts'
import { createLogger, LogRateLimiter } from '../../../src/common/logger.ts'
import { Metrics } from '../../../src/common/metrics.ts'
import { LogManager } from '../../../src/log/index.ts'
import { Reader, Writer } from '../../../src/protocol/primitives.ts'
import { encodeRecordBatchSync } from '../../../src/protocol/record-batch.ts'

export interface Codec<ReqIn, Req, ResIn, Res> {
  encodeRequest(w: Writer, version: number, v: ReqIn): void
  decodeRequest(r: Reader, version: number): Req
  encodeResponse(w: Writer, version: number, v: ResIn): void
  decodeResponse(r: Reader, version: number): Res
}

export interface AdminHarness {
  services: BrokerServices
  dataDir: string
  /** Encodes `input` at `version`, decodes it, runs the handler, and returns the response as a client decodes it. */
  call<ReqIn, Req, ResIn, Res>(
    handler: HandlerSpec<Req, ResIn>,
    codec: Codec<ReqIn, Req, ResIn, Res>,
    version: number,
    input: ReqIn,
  ): Promise<Res>
  /** Appends `count` single-record batches to a partition and waits until they are durable. */
  produce(topic: string, partition: number, count: number): Promise<void>
  /** Closes the logs and opens a new registry on the same data dir (what a broker restart does). */
  restart(): Promise<void>
  close(): Promise<void>
}

export async function startAdminHarness(overrides: Partial<BrokerConfig> = {}): Promise<AdminHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tributary-admin-'))
  const config: BrokerConfig = {
    ...DEFAULT_BROKER_CONFIG,
    dataDir,
    port: 0,
    advertisedHost: '127.0.0.1',
    advertisedPort: 19092,
    ...overrides,
  }
  const logger = createLogger('silent')
  let services!: BrokerServices

  async function open(): Promise<void> {
    const logs = await LogManager.open({ dataDir, flushPolicy: { mode: 'group' }, cleanerIntervalMs: 0 })
    const replicas = new ReplicaManager(logs, logger)
    const metadataLog = await MetadataLog.open(logs, replicas)
    const acls = new AclStore(metadataLog)
    const scram = new ScramCredentialStore(metadataLog)
    const quotaStore = new ClientQuotaStore(metadataLog)
    const producerIds = new ProducerIdManager(metadataLog)
    const topics = await TopicRegistry.open({ logs, metadataLog, topicDefaults: config.topicDefaults, logger })
    if (!topics.get(OFFSETS_TOPIC)) {
      await topics.create(OFFSETS_TOPIC, { partitions: 1, configs: { 'cleanup.policy': 'compact' }, internal: true })
    }
    services = {
      config,
      clusterId: topics.clusterId,
      logs,
      topics,
      acls,
      scram,
      quotaStore,
      producerIds,
      logger,
      logLimiter: new LogRateLimiter(),
      // Admin handlers do not use groups.
      groups: undefined as unknown as BrokerServices['groups'],
      replicas,
      metrics: new Metrics(),
      supportedApis: () => [],
      now: () => Date.now(),
    }
    harness.services = services
  }

  const harness: AdminHarness = {
    services,
    dataDir,
    async call(handler, codec, version, input) {
      const reqWriter = new Writer()
      codec.encodeRequest(reqWriter, version, input)
      const request = codec.decodeRequest(new Reader(reqWriter.toBuffer()), version)
      const ctx: RequestContext = {
        apiKey: handler.apiKey,
        apiVersion: version,
        correlationId: 1,
        clientId: 'admin-test',
        clientHost: '127.0.0.1',
        principal: 'User:ANONYMOUS',
        connectionId: 'test',
        services: harness.services,
        signal: new AbortController().signal,
        closeConnection(reason) {
          throw new Error(`an admin API asked to close the connection: ${reason}`)
        },
      }
      const response = await handler.handle(request, ctx)
      if (response === undefined) throw new Error('handler sent no response')
      const resWriter = new Writer()
      codec.encodeResponse(resWriter, version, response)
      const reader = new Reader(resWriter.toBuffer())
      const decoded = codec.decodeResponse(reader, version)
      return decoded
    },
    async produce(topic, partition, count) {
      const log = harness.services.topics.partitionLog(topic, partition)
      if (!log) throw new Error(`no log for ${topic}-${partition}`)
      let last = -1
      for (let i = 0; i < count; i++) {
        const batch = encodeRecordBatchSync({
          records: [{ key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`), timestamp: Date.now() }],
        })
        last = log.append(batch).lastOffset
      }
      if (last >= 0) await log.waitDurable(last)
    },
    async restart() {
      await harness.services.logs.close()
      await open()
    },
    async close() {
      await harness.services.logs.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
  await open()
  return harness
}
