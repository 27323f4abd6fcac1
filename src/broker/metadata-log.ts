/**
 * The cluster metadata log (`__cluster_metadata`, partition 0, compacted): every metadata store (topics, ACLs,
 * SCRAM credentials, client quotas, producer-id blocks, the cluster id) keeps its records here, keyed by a prefix
 * of its own. Writes are serialized and durable before they are applied; at startup the log is replayed into the
 * stores registered on it.
 */
import type { LogManager, PartitionLog } from '../log/index.ts'
import { parseLogConfig } from '../log/index.ts'
import { replayLog } from './internal-topic.ts'
import type { ReplicaManager } from './replica-manager.ts'
import type { AclBinding } from './security/acl.ts'
import type { QuotaEntity } from './security/quota-store.ts'
import type { ScramCredential } from './security/scram.ts'
import type { TopicInfo } from './topic-registry.ts'

export const METADATA_TOPIC = '__cluster_metadata'

export type MetadataRecord =
  | { type: 'topic'; topic: TopicInfo }
  | { type: 'producer-ids'; next: number }
  | { type: 'cluster'; clusterId: string }
  | { type: 'scram-credential'; user: string; credential: ScramCredential }
  | { type: 'acl'; acl: AclBinding }
  | { type: 'client-quota'; entity: QuotaEntity; values: Record<string, number> }

/** Applies one record (null: the key's tombstone) to a store's state. */
export type MetadataApplier = (key: string, rec: MetadataRecord | null) => void

export class MetadataLog {
  private pending: Promise<unknown> = Promise.resolve()
  private readonly appliers: { prefix: string; apply: MetadataApplier }[] = []

  private constructor(
    private readonly log: PartitionLog,
    private readonly replicas: ReplicaManager,
  ) {}

  static async open(logs: LogManager, replicas: ReplicaManager): Promise<MetadataLog> {
    const log = await logs.getOrCreate(
      METADATA_TOPIC,
      0,
      parseLogConfig({ 'cleanup.policy': 'compact', 'segment.bytes': String(16 * 1024 * 1024) }),
    )
    return new MetadataLog(log, replicas)
  }

  /** A store's records are those whose key starts with `prefix`. Register before `replay`. */
  register(prefix: string, apply: MetadataApplier): void {
    this.appliers.push({ prefix, apply })
  }

  /** Applies every record of the log, oldest first, to the registered stores. */
  async replay(): Promise<void> {
    for await (const r of replayLog(this.log)) {
      this.apply(r.key.toString(), r.value ? (JSON.parse(r.value.toString()) as MetadataRecord) : null)
    }
  }

  /** Appends one metadata record durably, then applies it. Writes are serialized. */
  write(key: string, rec: MetadataRecord | null): Promise<void> {
    const run = async () => {
      await this.replicas.appendInternal(METADATA_TOPIC, 0, [
        { key: Buffer.from(key), value: rec ? Buffer.from(JSON.stringify(rec)) : null },
      ])
      this.apply(key, rec)
    }
    const p = this.pending.then(run, run)
    this.pending = p.catch(() => {})
    return p
  }

  private apply(key: string, rec: MetadataRecord | null): void {
    for (const a of this.appliers) if (key.startsWith(a.prefix)) a.apply(key, rec)
  }
}
