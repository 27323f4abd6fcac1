import type { AlterConfigsRequest } from '../../protocol/generated/alter-configs-request.ts'
import type {
  AlterConfigsResourceResponseInput,
  AlterConfigsResponseInput,
} from '../../protocol/generated/alter-configs-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { HandlerSpec } from '../handler.ts'
import type { BrokerServices } from '../services.ts'
import { TopicError } from '../topic-registry.ts'
import {
  brokerResourceProblem,
  type ConfigProblem,
  ResourceType,
  resourceTypeName,
  topicOverridesProblem,
  topicResourceProblem,
} from './describe-configs.ts'

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

export function unsupportedResourceProblem(resourceType: number): ConfigProblem {
  return {
    errorCode: ErrorCode.INVALID_REQUEST,
    message: `Unsupported resource type: ${resourceTypeName(resourceType)}`,
  }
}

/** Legacy AlterConfigs: the given configs replace all of the resource's overrides. */
export const alterConfigsHandler: HandlerSpec<AlterConfigsRequest, AlterConfigsResponseInput> = {
  apiKey: 33,
  minVersion: 0,
  maxVersion: 2,
  async handle(req, ctx) {
    const { services } = ctx
    const key = (type: number, name: string) => `${type}:${name}`
    const counts = new Map<string, number>()
    for (const r of req.resources)
      counts.set(key(r.resourceType, r.resourceName), (counts.get(key(r.resourceType, r.resourceName)) ?? 0) + 1)
    const responses: AlterConfigsResourceResponseInput[] = []
    const answered = new Set<string>()
    for (const r of req.resources) {
      const k = key(r.resourceType, r.resourceName)
      if (answered.has(k)) continue
      answered.add(k)
      let problem: ConfigProblem | null
      if (counts.get(k)! > 1) {
        problem = { errorCode: ErrorCode.INVALID_REQUEST, message: 'Duplicate resource.' }
      } else if (r.resourceType === ResourceType.TOPIC) {
        problem = topicResourceProblem(r.resourceName)
        if (!problem) {
          const configs: Record<string, string | null> = {}
          for (const c of r.configs) configs[c.name] = c.value
          problem = await withConfigLock(services, () =>
            replaceTopicConfigs(services, r.resourceName, configs, req.validateOnly),
          )
        }
      } else if (r.resourceType === ResourceType.BROKER) {
        problem = brokerAlterProblem(r.resourceName, services.config.nodeId, r.configs.length)
      } else {
        problem = unsupportedResourceProblem(r.resourceType)
      }
      responses.push({
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        errorCode: problem?.errorCode ?? ErrorCode.NONE,
        errorMessage: problem?.message ?? null,
      })
    }
    return { throttleTimeMs: 0, responses }
  },
}
