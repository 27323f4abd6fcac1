/**
 * Topic and broker configs as Kafka's config APIs see them (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs,
 * and CreateTopics, which reports the created topic's configs): each config's value and where it comes from, the
 * checks of config resources and overrides, and storing a topic's new overrides.
 *
 * A topic config's value comes from, highest precedence first: the topic's override (DYNAMIC_TOPIC_CONFIG), the
 * broker's `log.*` setting (STATIC_BROKER_CONFIG) and Kafka's default (DEFAULT_CONFIG). Broker configs are static:
 * they are read at startup and reported read-only.
 */

import { TOPIC_CONFIG_DEFINITIONS } from '../log/index.ts'
import type { DescribeConfigsSynonymInput } from '../protocol/generated/describe-configs-response.ts'
import { ErrorCode } from '../protocol/generated/error-codes.ts'
import { type BrokerConfig, DEFAULT_BROKER_CONFIG } from './config.ts'
import type { BrokerServices } from './services.ts'
import { TopicError, topicNameProblem } from './topic-registry.ts'

/**
 * ConfigResource.Type ids on the wire: the resources that have configs (not the ACL resource types of
 * security/acl.ts, whose numbering differs).
 */
export const ConfigResourceType = {
  UNKNOWN: 0,
  TOPIC: 2,
  BROKER: 4,
  BROKER_LOGGER: 8,
  CLIENT_METRICS: 16,
  GROUP: 32,
} as const

/** DescribeConfigs ConfigSource ids. */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const

/** DescribeConfigs ConfigType ids (v3+). */
export const ConfigType = { UNKNOWN: 0, BOOLEAN: 1, STRING: 2, INT: 3, SHORT: 4, LONG: 5, DOUBLE: 6, LIST: 7 } as const

const CONFIG_TYPE_ID: Record<string, number> = {
  boolean: ConfigType.BOOLEAN,
  string: ConfigType.STRING,
  int: ConfigType.INT,
  long: ConfigType.LONG,
  list: ConfigType.LIST,
}

export function configResourceTypeName(type: number): string {
  const entry = Object.entries(ConfigResourceType).find(([, id]) => id === type)
  return entry ? entry[0] : String(type)
}

/** Topic config → the broker setting that supplies its default (Kafka's synonym). */
const BROKER_SYNONYM: Readonly<Record<string, string>> = {
  'segment.bytes': 'log.segment.bytes',
  'segment.ms': 'log.roll.ms',
  'retention.ms': 'log.retention.ms',
  'retention.bytes': 'log.retention.bytes',
  'cleanup.policy': 'log.cleanup.policy',
  'delete.retention.ms': 'log.cleaner.delete.retention.ms',
  'min.compaction.lag.ms': 'log.cleaner.min.compaction.lag.ms',
  'max.compaction.lag.ms': 'log.cleaner.max.compaction.lag.ms',
  'min.cleanable.dirty.ratio': 'log.cleaner.min.cleanable.ratio',
  'max.message.bytes': 'message.max.bytes',
  'message.timestamp.type': 'log.message.timestamp.type',
  'index.interval.bytes': 'log.index.interval.bytes',
  'compression.type': 'compression.type',
  'min.insync.replicas': 'min.insync.replicas',
  'segment.index.bytes': 'log.index.size.max.bytes',
  'segment.jitter.ms': 'log.roll.jitter.ms',
  'flush.messages': 'log.flush.interval.messages',
  'flush.ms': 'log.flush.interval.ms',
  'file.delete.delay.ms': 'log.segment.delete.delay.ms',
  preallocate: 'log.preallocate',
  'unclean.leader.election.enable': 'unclean.leader.election.enable',
  'message.timestamp.difference.max.ms': 'log.message.timestamp.difference.max.ms',
  'message.timestamp.before.max.ms': 'log.message.timestamp.before.max.ms',
  'message.timestamp.after.max.ms': 'log.message.timestamp.after.max.ms',
  'message.downconversion.enable': 'log.message.downconversion.enable',
  'local.retention.ms': 'log.local.retention.ms',
  'local.retention.bytes': 'log.local.retention.bytes',
}

/** Short descriptions for includeDocumentation (v3+), in Tributary's words. */
const TOPIC_DOCS: Readonly<Record<string, string>> = {
  'segment.bytes': 'Size in bytes at which the active segment is closed and a new one is started.',
  'segment.ms': 'Age in milliseconds after which the active segment is rolled even if it is not full.',
  'retention.ms': 'How long records are kept before their segment may be deleted; -1 keeps them forever.',
  'retention.bytes': 'Size a partition may grow to before its oldest segments are deleted; -1 means no limit.',
  'cleanup.policy': 'delete (retention by time and size), compact (keep the latest record per key) or both.',
  'delete.retention.ms': 'How long tombstones survive in a compacted topic so that consumers can see them.',
  'min.compaction.lag.ms': 'Minimum age of a record before compaction may remove it.',
  'max.message.bytes': 'Largest record batch the broker accepts for this topic.',
  'message.timestamp.type': 'CreateTime keeps the producer timestamp; LogAppendTime stamps the broker time.',
  'index.interval.bytes': 'Bytes of log between two entries of the sparse offset index.',
}

export interface ConfigEntry {
  name: string
  value: string
  source: number
  readOnly: boolean
  configType: number
  synonyms: DescribeConfigsSynonymInput[]
  documentation: string | null
}

/** Every topic config with its effective value for a topic with these overrides. Sorted by name. */
export function topicConfigEntries(services: BrokerServices, overrides: Record<string, string>): ConfigEntry[] {
  const brokerDefaults = services.config.topicDefaults
  const entries: ConfigEntry[] = []
  for (const [name, def] of TOPIC_CONFIG_DEFINITIONS) {
    const synonyms: DescribeConfigsSynonymInput[] = []
    if (Object.hasOwn(overrides, name)) {
      synonyms.push({ name, value: overrides[name]!, source: ConfigSource.DYNAMIC_TOPIC_CONFIG })
    }
    const brokerName = BROKER_SYNONYM[name]
    if (brokerName) {
      if (Object.hasOwn(brokerDefaults, name)) {
        synonyms.push({ name: brokerName, value: brokerDefaults[name]!, source: ConfigSource.STATIC_BROKER_CONFIG })
      }
      synonyms.push({ name: brokerName, value: def.default, source: ConfigSource.DEFAULT_CONFIG })
    }
    const head = synonyms[0]
    entries.push({
      name,
      value: head ? head.value! : def.default,
      source: head ? head.source! : ConfigSource.DEFAULT_CONFIG,
      readOnly: false,
      configType: CONFIG_TYPE_ID[def.type] ?? ConfigType.UNKNOWN,
      synonyms,
      documentation: TOPIC_DOCS[name] ?? null,
    })
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return entries
}

/** The effective string value of one topic config (override, else broker default, else Kafka default). */
export function effectiveTopicConfigValue(
  services: BrokerServices,
  overrides: Record<string, string>,
  name: string,
): string | undefined {
  if (Object.hasOwn(overrides, name)) return overrides[name]
  if (Object.hasOwn(services.config.topicDefaults, name)) return services.config.topicDefaults[name]
  return TOPIC_CONFIG_DEFINITIONS.get(name)?.default
}

export interface ConfigProblem {
  errorCode: number
  message: string
}

/**
 * Checks a complete set of topic overrides the way Kafka does before storing them: no null values, only known
 * topic config names, each value valid for its key.
 */
export function topicOverridesProblem(configs: Record<string, string | null>): ConfigProblem | null {
  const nulls = Object.entries(configs)
    .filter(([, v]) => v === null)
    .map(([k]) => k)
  if (nulls.length > 0) {
    return {
      errorCode: ErrorCode.INVALID_CONFIG,
      message: `Null value not supported for topic configs: ${nulls.join(',')}`,
    }
  }
  for (const [name, value] of Object.entries(configs)) {
    const def = TOPIC_CONFIG_DEFINITIONS.get(name)
    if (!def) return { errorCode: ErrorCode.INVALID_CONFIG, message: `Unknown topic config name: ${name}` }
    try {
      def.validate(value!)
    } catch (err) {
      return { errorCode: ErrorCode.INVALID_CONFIG, message: (err as Error).message }
    }
  }
  return null
}

/** Kafka's checks of a TOPIC resource name in the config APIs. */
export function topicResourceProblem(name: string): ConfigProblem | null {
  if (name === '') return { errorCode: ErrorCode.INVALID_REQUEST, message: 'Default topic resources are not allowed.' }
  const problem = topicNameProblem(name)
  return problem ? { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, message: problem } : null
}

/** Kafka's checks of a BROKER resource name: empty (cluster default) or this node's id. */
export function brokerResourceProblem(name: string, nodeId: number): ConfigProblem | null {
  if (name === '') return null
  if (!/^-?\d+$/.test(name)) {
    return { errorCode: ErrorCode.INVALID_REQUEST, message: `Broker id must be an integer, but it is: ${name}` }
  }
  if (Number(name) !== nodeId) {
    return {
      errorCode: ErrorCode.INVALID_REQUEST,
      message: `Unexpected broker id, expected ${nodeId} or empty string, but received ${name}`,
    }
  }
  return null
}

interface BrokerSetting {
  name: string
  type: 'int' | 'long' | 'string' | 'boolean' | 'list'
  value(c: BrokerConfig): string
  doc: string
}

function listener(host: string, port: number): string {
  return `PLAINTEXT://${host.includes(':') ? `[${host}]` : host}:${port}`
}

/** Broker settings this broker has, under Kafka's property names. */
const BROKER_SETTINGS: readonly BrokerSetting[] = [
  { name: 'node.id', type: 'int', value: (c) => String(c.nodeId), doc: 'Id of this node in the cluster.' },
  { name: 'broker.id', type: 'int', value: (c) => String(c.nodeId), doc: 'Same as node.id.' },
  {
    name: 'listeners',
    type: 'list',
    value: (c) => listener(c.host, c.port),
    doc: 'Address the Kafka listener binds to.',
  },
  {
    name: 'advertised.listeners',
    type: 'list',
    value: (c) => listener(c.advertisedHost, c.advertisedPort),
    doc: 'Address given to clients in Metadata and DescribeCluster responses.',
  },
  { name: 'log.dirs', type: 'list', value: (c) => c.dataDir, doc: 'Directory holding the partition logs.' },
  {
    name: 'auto.create.topics.enable',
    type: 'boolean',
    value: (c) => String(c.autoCreateTopics),
    doc: 'Whether Metadata requests for an unknown topic create it.',
  },
  {
    name: 'num.partitions',
    type: 'int',
    value: (c) => String(c.numPartitions),
    doc: 'Partition count of auto-created topics and of CreateTopics requests that leave it to the broker.',
  },
  {
    name: 'default.replication.factor',
    type: 'int',
    value: () => '1',
    doc: 'Replication factor of new topics; always 1 on a single node.',
  },
  { name: 'delete.topic.enable', type: 'boolean', value: () => 'true', doc: 'Whether topics can be deleted.' },
  {
    name: 'socket.request.max.bytes',
    type: 'int',
    value: (c) => String(c.socketRequestMaxBytes),
    doc: 'Largest request frame the broker reads; larger frames close the connection.',
  },
  {
    name: 'group.initial.rebalance.delay.ms',
    type: 'int',
    value: (c) => String(c.groupInitialRebalanceDelayMs),
    doc: 'How long the first rebalance of an empty group waits for more members to join.',
  },
  {
    name: 'offsets.retention.ms',
    type: 'long',
    value: (c) => String(c.offsetsRetentionMs),
    doc: 'How long committed offsets of an empty group are kept.',
  },
  {
    name: 'log.retention.check.interval.ms',
    type: 'long',
    value: (c) => String(c.logCleanerIntervalMs),
    doc: 'How often retention and compaction run.',
  },
]

/** This broker's settings and its topic defaults, under Kafka's broker property names. Sorted by name. */
export function brokerConfigEntries(services: BrokerServices): ConfigEntry[] {
  const config = services.config
  const entries: ConfigEntry[] = []
  for (const s of BROKER_SETTINGS) {
    const value = s.value(config)
    const dflt = s.value(DEFAULT_BROKER_CONFIG)
    const source = value === dflt ? ConfigSource.DEFAULT_CONFIG : ConfigSource.STATIC_BROKER_CONFIG
    const synonyms: DescribeConfigsSynonymInput[] = [{ name: s.name, value, source }]
    if (source === ConfigSource.STATIC_BROKER_CONFIG) {
      synonyms.push({ name: s.name, value: dflt, source: ConfigSource.DEFAULT_CONFIG })
    }
    entries.push({
      name: s.name,
      value,
      source,
      readOnly: true,
      configType: CONFIG_TYPE_ID[s.type]!,
      synonyms,
      documentation: s.doc,
    })
  }
  // The broker-wide topic defaults, under their broker names.
  for (const [topicName, def] of TOPIC_CONFIG_DEFINITIONS) {
    const name = BROKER_SYNONYM[topicName]
    if (!name || entries.some((e) => e.name === name)) continue
    const synonyms: DescribeConfigsSynonymInput[] = []
    if (Object.hasOwn(config.topicDefaults, topicName)) {
      synonyms.push({ name, value: config.topicDefaults[topicName]!, source: ConfigSource.STATIC_BROKER_CONFIG })
    }
    synonyms.push({ name, value: def.default, source: ConfigSource.DEFAULT_CONFIG })
    entries.push({
      name,
      value: synonyms[0]!.value!,
      source: synonyms[0]!.source!,
      readOnly: true,
      configType: CONFIG_TYPE_ID[def.type] ?? ConfigType.UNKNOWN,
      synonyms,
      documentation: TOPIC_DOCS[topicName] ? `Default for topic config ${topicName}: ${TOPIC_DOCS[topicName]}` : null,
    })
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return entries
}

/**
 * Validates a topic's complete new set of overrides and, unless validateOnly, stores it (durably, in the metadata
 * log) and applies it to the open partition logs. Returns the problem to report, or null on success.
 */
export async function replaceTopicConfigs(
  services: BrokerServices,
  topic: string,
  configs: Record<string, string | null>,
  validateOnly: boolean,
): Promise<ConfigProblem | null> {
  const problem = topicOverridesProblem(configs)
  if (problem) return problem
  if (!services.topics.get(topic)) {
    return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `The topic '${topic}' does not exist.` }
  }
  if (validateOnly) return null
  try {
    await services.topics.setConfigs(topic, configs as Record<string, string>)
  } catch (err) {
    if (err instanceof TopicError) return { errorCode: err.errorCode, message: err.message }
    throw err
  }
  services.logger.info('topic configs changed', { topic, configs })
  return null
}

const configLocks = new WeakMap<object, Promise<unknown>>()

/** Runs config changes of one broker one at a time (IncrementalAlterConfigs reads, modifies and writes). */
export function withConfigLock<T>(services: BrokerServices, fn: () => T | Promise<T>): Promise<T> {
  const previous = configLocks.get(services.topics) ?? Promise.resolve()
  const run = previous.then(fn, fn)
  configLocks.set(
    services.topics,
    run.catch(() => {}),
  )
  return run
}

/** Broker settings come from the config file, environment and flags at startup; they cannot change at runtime. */
export function brokerAlterProblem(resourceName: string, nodeId: number, changes: number): ConfigProblem | null {
  const problem = brokerResourceProblem(resourceName, nodeId)
  if (problem) return problem
  if (changes === 0) return null
  return {
    errorCode: ErrorCode.INVALID_REQUEST,
    message:
      'Broker configs are static in Tributary: set them in the broker config file, TRIBUTARY_* environment ' +
      'variables or command-line flags and restart the broker.',
  }
}

/** The answer for a config resource type this broker has no configs for. */
export function unsupportedResourceProblem(resourceType: number): ConfigProblem {
  return {
    errorCode: ErrorCode.INVALID_REQUEST,
    message: `Unsupported resource type: ${configResourceTypeName(resourceType)}`,
  }
}
