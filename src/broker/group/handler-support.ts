/** Small helpers shared by the group API handlers. */
import type { RequestContext } from '../handler.ts'

/** Kafka answers UNKNOWN_TOPIC_OR_PARTITION for offsets of partitions the cluster does not have. */
export function partitionExists(ctx: RequestContext, topic: string, partition: number): boolean {
  const info = ctx.services.topics.get(topic)
  return info !== undefined && partition >= 0 && partition < info.partitions
}

/** Kafka reports member hosts as InetAddress.toString() does ("/127.0.0.1"); admin tools expect that shape. */
export function memberHost(ctx: RequestContext): string {
  return ctx.clientHost.startsWith('/') ? ctx.clientHost : `/${ctx.clientHost}`
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}
