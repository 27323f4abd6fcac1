/**
 * Hands out producer ids (Kafka's ProducerIdManager): blocks of ids are claimed in the metadata log (key
 * `producer-ids`) before any id of the block is used, so ids never repeat across restarts.
 */
import type { MetadataLog } from './metadata-log.ts'

const PRODUCER_ID_BLOCK_SIZE = 1000

export class ProducerIdManager {
  private nextProducerId = 0
  private producerIdLimit = 0
  private allocating: Promise<void> | null = null

  constructor(private readonly log: MetadataLog) {
    log.register('producer-ids', (_key, rec) => {
      if (rec?.type !== 'producer-ids') return
      this.nextProducerId = rec.next
      this.producerIdLimit = rec.next
    })
  }

  async allocateProducerId(): Promise<number> {
    while (this.nextProducerId >= this.producerIdLimit) {
      this.allocating ??= (async () => {
        const next = this.producerIdLimit + PRODUCER_ID_BLOCK_SIZE
        await this.log.write('producer-ids', { type: 'producer-ids', next })
        this.nextProducerId = next - PRODUCER_ID_BLOCK_SIZE
        this.producerIdLimit = next
      })().finally(() => {
        this.allocating = null
      })
      await this.allocating
    }
    return this.nextProducerId++
  }
}
