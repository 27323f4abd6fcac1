/** Factories of @platformatic/kafka clients with Tributary's bootstrap resolution and defaults. */
import {
  Admin,
  type AdminOptions,
  Consumer,
  type ConsumerOptions,
  Producer,
  type ProducerOptions,
} from '@platformatic/kafka'
import { TributaryError } from '../errors.ts'

export const BOOTSTRAP_ENV = 'TRIBUTARY_BOOTSTRAP'

/** `host:port[,host:port...]` from the argument, else from TRIBUTARY_BOOTSTRAP. */
export function resolveBootstrap(bootstrap?: string | string[]): string[] {
  const raw = bootstrap ?? process.env[BOOTSTRAP_ENV]
  const list = (Array.isArray(raw) ? raw : (raw ?? '').split(',')).map((s) => s.trim()).filter((s) => s.length > 0)
  if (list.length === 0) {
    throw new TributaryError(
      'TRB_CLIENT_NO_BOOTSTRAP',
      `no Kafka bootstrap address: pass one (host:port) or set ${BOOTSTRAP_ENV}`,
    )
  }
  for (const entry of list) {
    if (!/^[^:\s]+:\d+$/.test(entry) && !/^\[[^\]]+\]:\d+$/.test(entry)) {
      throw new TributaryError('TRB_CLIENT_BAD_BOOTSTRAP', `bootstrap address '${entry}' is not host:port`)
    }
  }
  return list
}

export interface ClientCommonOptions {
  /** host:port list; defaults to TRIBUTARY_BOOTSTRAP. */
  bootstrap?: string | string[]
  clientId?: string
}

type WithoutBase<T> = Omit<T, 'bootstrapBrokers' | 'clientId'>

export function createProducer<Key = Buffer, Value = Buffer, HeaderKey = Buffer, HeaderValue = Buffer>(
  options: ClientCommonOptions & Partial<WithoutBase<ProducerOptions<Key, Value, HeaderKey, HeaderValue>>> = {},
): Producer<Key, Value, HeaderKey, HeaderValue> {
  const { bootstrap, clientId, ...rest } = options
  return new Producer<Key, Value, HeaderKey, HeaderValue>({
    clientId: clientId ?? 'tributary-producer',
    bootstrapBrokers: resolveBootstrap(bootstrap),
    ...rest,
  } as ProducerOptions<Key, Value, HeaderKey, HeaderValue>)
}

export function createConsumer<Key = Buffer, Value = Buffer, HeaderKey = Buffer, HeaderValue = Buffer>(
  options: ClientCommonOptions & { groupId: string } & Partial<
      WithoutBase<ConsumerOptions<Key, Value, HeaderKey, HeaderValue>>
    >,
): Consumer<Key, Value, HeaderKey, HeaderValue> {
  const { bootstrap, clientId, ...rest } = options
  return new Consumer<Key, Value, HeaderKey, HeaderValue>({
    clientId: clientId ?? 'tributary-consumer',
    bootstrapBrokers: resolveBootstrap(bootstrap),
    ...rest,
  } as ConsumerOptions<Key, Value, HeaderKey, HeaderValue>)
}

export function createAdmin(options: ClientCommonOptions & Partial<WithoutBase<AdminOptions>> = {}): Admin {
  const { bootstrap, clientId, ...rest } = options
  return new Admin({ clientId: clientId ?? 'tributary-admin', bootstrapBrokers: resolveBootstrap(bootstrap), ...rest })
}

export interface EnsureTopicOptions {
  partitions?: number
  replicas?: number
  configs?: Record<string, string>
}

/** Creates a topic if it does not exist yet; an existing topic is left as it is. */
export async function ensureTopic(admin: Admin, topic: string, options: EnsureTopicOptions = {}): Promise<void> {
  const existing = await admin.listTopics({ includeInternals: true })
  if (existing.includes(topic)) return
  try {
    await admin.createTopics({
      topics: [topic],
      partitions: options.partitions ?? 1,
      replicas: options.replicas ?? 1,
      configs: Object.entries(options.configs ?? {}).map(([name, value]) => ({ name, value })),
    })
  } catch (error) {
    // Another instance may have created it between the listing and the request.
    if (!JSON.stringify(error, Object.getOwnPropertyNames(error)).includes('TOPIC_ALREADY_EXISTS')) {
      const again = await admin.listTopics({ includeInternals: true })
      if (!again.includes(topic)) throw error
    }
  }
}

export { Admin, Consumer, Producer }
