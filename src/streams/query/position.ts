/**
 * Positions (Kafka Streams' Position and PositionBound, KIP-796): how far a state store has applied its input, as
 * the offset of the last input record applied per topic-partition. Every interactive-query answer carries the
 * position of the stores that produced it, and a caller can ask to be answered only once a store has reached a
 * position — e.g. the offsets a producer got back for its writes (read-your-writes).
 *
 * A position prints as a compact token, `topic:partition:offset` joined by commas (topic names cannot hold `:` or
 * `,`), which is what the HTTP endpoint takes and returns.
 */
import { streamsError } from '../errors.ts'

const TOPIC = /^[a-zA-Z0-9._-]+$/

function checkComponent(topic: string, partition: number, offset: number): void {
  if (typeof topic !== 'string' || !TOPIC.test(topic) || topic.length > 249) {
    throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `position: '${topic}' is not a topic name`)
  }
  if (!Number.isInteger(partition) || partition < 0) {
    throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `position: partition ${partition} of ${topic} is not valid`)
  }
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw streamsError(
      'TRB_STREAMS_INVALID_ARGUMENT',
      `position: offset ${offset} of ${topic}-${partition} is not valid`,
    )
  }
}

/** Offsets applied per topic and partition. Mutable like Kafka's: `withComponent` and `merge` change it in place. */
export class Position {
  readonly #topics = new Map<string, Map<number, number>>()

  private constructor() {}

  static empty(): Position {
    return new Position()
  }

  /** From `{ topic: { partition: offset } }` (what `toJSON()` gives). */
  static fromMap(map: Readonly<Record<string, Readonly<Record<string | number, number>>>>): Position {
    const p = new Position()
    if (map === null || typeof map !== 'object' || Array.isArray(map)) {
      throw streamsError(
        'TRB_STREAMS_INVALID_ARGUMENT',
        'position: expected an object { topic: { partition: offset } }',
      )
    }
    for (const [topic, partitions] of Object.entries(map)) {
      if (partitions === null || typeof partitions !== 'object' || Array.isArray(partitions)) {
        throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `position: topic ${topic} needs { partition: offset }`)
      }
      for (const [partition, offset] of Object.entries(partitions)) {
        p.merge(Position.empty().withComponent(topic, Number(partition), Number(offset)))
      }
    }
    return p
  }

  /**
   * From record offsets — a producer's send results, say (`{ topic, partition, offset }`, offset as number or
   * bigint). Several offsets of one partition keep the highest.
   */
  static fromOffsets(
    offsets: Iterable<{ readonly topic: string; readonly partition: number; readonly offset: number | bigint }>,
  ): Position {
    const p = new Position()
    for (const o of offsets) p.merge(Position.empty().withComponent(o.topic, o.partition, Number(o.offset)))
    return p
  }

  /** Parses a token (`topic:partition:offset,...`; empty for the empty position) or the JSON of `toJSON()`. */
  static parse(text: string): Position {
    const trimmed = text.trim()
    if (trimmed.startsWith('{')) {
      let json: unknown
      try {
        json = JSON.parse(trimmed)
      } catch (error) {
        throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `position: not valid JSON: ${(error as Error).message}`)
      }
      return Position.fromMap(json as Record<string, Record<string, number>>)
    }
    const p = new Position()
    if (trimmed === '') return p
    for (const part of trimmed.split(',')) {
      const fields = part.trim().split(':')
      if (fields.length !== 3 || !/^\d+$/.test(fields[1]!) || !/^\d+$/.test(fields[2]!)) {
        throw streamsError(
          'TRB_STREAMS_INVALID_ARGUMENT',
          `position: '${part}' is not topic:partition:offset (a position token is such triples joined by commas)`,
        )
      }
      p.merge(Position.empty().withComponent(fields[0]!, Number(fields[1]), Number(fields[2])))
    }
    return p
  }

  /** Sets the offset of one topic-partition (as Kafka's withComponent). Returns this. */
  withComponent(topic: string, partition: number, offset: number): this {
    checkComponent(topic, partition, offset)
    let partitions = this.#topics.get(topic)
    if (!partitions) {
      partitions = new Map()
      this.#topics.set(topic, partitions)
    }
    partitions.set(partition, offset)
    return this
  }

  /** Takes, per topic-partition, the higher offset of this and `other`. Returns this. */
  merge(other: Position | undefined | null): this {
    if (!other) return this
    for (const [topic, partitions] of other.#topics) {
      let mine = this.#topics.get(topic)
      if (!mine) {
        mine = new Map()
        this.#topics.set(topic, mine)
      }
      for (const [partition, offset] of partitions) {
        const current = mine.get(partition)
        if (current === undefined || offset > current) mine.set(partition, offset)
      }
    }
    return this
  }

  copy(): Position {
    return Position.empty().merge(this)
  }

  topics(): string[] {
    return [...this.#topics.keys()].sort()
  }

  /** partition → offset for one topic (empty when the topic is not in the position). */
  partitionPositions(topic: string): ReadonlyMap<number, number> {
    return this.#topics.get(topic) ?? new Map()
  }

  /** The offset of one topic-partition, or undefined. */
  offset(topic: string, partition: number): number | undefined {
    return this.#topics.get(topic)?.get(partition)
  }

  isEmpty(): boolean {
    for (const partitions of this.#topics.values()) if (partitions.size > 0) return false
    return true
  }

  /**
   * Whether this position has reached every component of `bound` — only the components of `partition` when it is
   * given (a store partition answers for the bound's components with its own partition number, as Kafka Streams
   * checks a PositionBound per store partition).
   */
  dominates(bound: Position, partition?: number): boolean {
    for (const topic of bound.topics()) {
      for (const [p, offset] of bound.partitionPositions(topic)) {
        if (partition !== undefined && p !== partition) continue
        const seen = this.offset(topic, p)
        if (seen === undefined || seen < offset) return false
      }
    }
    return true
  }

  /** The components of `bound` this position has not reached (for error messages). */
  missing(bound: Position, partition?: number): Position {
    const out = Position.empty()
    for (const topic of bound.topics()) {
      for (const [p, offset] of bound.partitionPositions(topic)) {
        if (partition !== undefined && p !== partition) continue
        const seen = this.offset(topic, p)
        if (seen === undefined || seen < offset) out.withComponent(topic, p, offset)
      }
    }
    return out
  }

  equals(other: Position): boolean {
    return this.dominates(other) && other.dominates(this)
  }

  /** `{ topic: { partition: offset } }`, topics and partitions in order. */
  toJSON(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {}
    for (const topic of this.topics()) {
      const partitions = [...this.#topics.get(topic)!].sort(([a], [b]) => a - b)
      if (partitions.length > 0) out[topic] = Object.fromEntries(partitions.map(([p, o]) => [String(p), o]))
    }
    return out
  }

  /** The token form: `topic:partition:offset` joined by commas, in order ('' when empty). */
  toString(): string {
    const parts: string[] = []
    for (const topic of this.topics()) {
      for (const [p, o] of [...this.#topics.get(topic)!].sort(([a], [b]) => a - b)) parts.push(`${topic}:${p}:${o}`)
    }
    return parts.join(',')
  }
}

/** A lower bound on the position a query must be answered at (Kafka Streams' PositionBound). */
export class PositionBound {
  readonly #position: Position | undefined

  private constructor(position: Position | undefined) {
    this.#position = position
  }

  /** No bound: answer with whatever the store holds now. */
  static unbounded(): PositionBound {
    return new PositionBound(undefined)
  }

  /** Answer only once the store has applied at least these offsets (those of its own partitions). */
  static at(position: Position): PositionBound {
    return new PositionBound(position.copy())
  }

  isUnbounded(): boolean {
    return this.#position === undefined || this.#position.isEmpty()
  }

  get position(): Position {
    return this.#position?.copy() ?? Position.empty()
  }

  toString(): string {
    return this.isUnbounded() ? 'unbounded' : `at ${this.#position}`
  }
}
