import type { SyncSerde } from '../../serde/serde.ts'
import { streamsError } from '../errors.ts'
import {
  type ProcessorSupplier,
  type StreamPartitioner,
  supplierStores,
  type TopicNameExtractor,
} from '../processor/api.ts'
import type { TimestampExtractor } from '../processor/timestamp-extractor.ts'
import type { StoreBuilder } from '../state/stores.ts'
import {
  type GlobalStoreDescription,
  type NodeDescription,
  type SubtopologyDescription,
  TopologyDescription,
} from './description.ts'
import type { InternalTopicDef, NodeDef, OffsetReset, ProcessorNodeDef, SinkNodeDef, SourceNodeDef } from './nodes.ts'

export interface SourceOptions {
  keySerde?: SyncSerde<unknown>
  valueSerde?: SyncSerde<unknown>
  timestampExtractor?: TimestampExtractor
  offsetReset?: OffsetReset
}

export interface SinkOptions<K = never, V = never> {
  keySerde?: SyncSerde<K>
  valueSerde?: SyncSerde<V>
  partitioner?: StreamPartitioner<K, V>
}

export interface StoreEntry {
  readonly builder: StoreBuilder
  readonly global: boolean
  readonly users: Set<string>
}

/** One sub-topology: the nodes connected by parents or by shared stores; each generates one task per partition. */
export interface Subtopology {
  readonly id: number
  /** Node names in the order they were added. */
  readonly nodes: readonly string[]
  /** Topics read, as named in the topology (internal topics without the application id prefix). */
  readonly sourceTopics: readonly string[]
  readonly sinkTopics: readonly string[]
  readonly stores: readonly string[]
}

const NAME = /^[a-zA-Z0-9._-]+$/

/**
 * A processing topology (Kafka Streams' Topology): sources, processors, sinks and stores, connected by name. Built
 * by the Processor API directly or by `StreamsBuilder.build()`. Nodes are immutable values; `describe()` shows the
 * topology in Kafka Streams' text form and as JSON. The same Topology runs in the test driver and in the runtime.
 */
export class Topology {
  readonly #nodes = new Map<string, NodeDef>()
  readonly #children = new Map<string, string[]>()
  readonly #stores = new Map<string, StoreEntry>()
  readonly #processorStores = new Map<string, Set<string>>()
  readonly #topicToSource = new Map<string, string>()
  readonly #internalTopics = new Map<string, InternalTopicDef>()
  readonly #globalTopics = new Set<string>()
  readonly #globalNodes = new Set<string>()
  readonly #copartitionGroups: Array<Set<string>> = []
  /** Store name → the source topic it is restored from instead of a changelog (none by default). */
  readonly #sourceChangelogs = new Map<string, string>()
  #sealed = false

  #checkName(name: string, what: string) {
    if (!name || !NAME.test(name) || name.length > 249) {
      throw streamsError(
        'TRB_STREAMS_INVALID_ARGUMENT',
        `${what} name '${name}' must be 1..249 characters of [a-zA-Z0-9._-]`,
      )
    }
    if (this.#nodes.has(name)) {
      throw streamsError('TRB_STREAMS_NAME_EXISTS', `processor name '${name}' is already used in this topology`)
    }
  }

  #checkOpen() {
    if (this.#sealed) {
      throw streamsError(
        'TRB_STREAMS_TOPOLOGY_BUILT',
        'this topology is already running (or handed to a driver): build a new Topology to change it',
      )
    }
  }

  /** Called by the driver and the runtime: from then on the topology cannot change. */
  seal(): this {
    this.#sealed = true
    return this
  }

  #add(node: NodeDef) {
    this.#nodes.set(node.name, Object.freeze(node))
    this.#children.set(node.name, [])
    if (node.kind !== 'source') {
      for (const parent of node.parents) this.#children.get(parent)!.push(node.name)
    }
  }

  #checkParents(name: string, parents: readonly string[], childKind: 'processor' | 'sink') {
    if (parents.length === 0) {
      throw streamsError('TRB_STREAMS_INVALID_TOPOLOGY', `${childKind} '${name}' must have at least one parent`)
    }
    for (const parent of parents) {
      if (parent === name)
        throw streamsError('TRB_STREAMS_INVALID_TOPOLOGY', `${childKind} '${name}' cannot be its own parent`)
      const p = this.#nodes.get(parent)
      if (!p) {
        throw streamsError(
          'TRB_STREAMS_UNKNOWN_NODE',
          `parent '${parent}' of ${childKind} '${name}' is not in the topology`,
        )
      }
      if (p.kind === 'sink') {
        throw streamsError(
          'TRB_STREAMS_INVALID_TOPOLOGY',
          `sink '${parent}' cannot be the parent of '${name}': sinks have no children`,
        )
      }
    }
  }

  /** Adds a source reading `topics` (or every topic matching a RegExp). */
  addSource(name: string, ...topics: Array<string | RegExp>): this
  addSource(options: SourceOptions & { name: string }, ...topics: Array<string | RegExp>): this
  addSource(nameOrOptions: string | (SourceOptions & { name: string }), ...topics: Array<string | RegExp>): this {
    this.#checkOpen()
    const options: SourceOptions & { name: string } =
      typeof nameOrOptions === 'string' ? { name: nameOrOptions } : nameOrOptions
    this.#checkName(options.name, 'source')
    const pattern = topics.find((t): t is RegExp => t instanceof RegExp)
    const names = topics.filter((t): t is string => typeof t === 'string')
    if (topics.length === 0 || (pattern && topics.length > 1)) {
      throw streamsError(
        'TRB_STREAMS_INVALID_ARGUMENT',
        `source '${options.name}' needs one or more topics, or one pattern`,
      )
    }
    for (const topic of names) {
      if (!topic) throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `source '${options.name}' has an empty topic name`)
      const owner = this.#topicToSource.get(topic)
      if (owner) {
        throw streamsError('TRB_STREAMS_TOPIC_EXISTS', `topic '${topic}' is already read by source '${owner}'`)
      }
    }
    for (const topic of names) this.#topicToSource.set(topic, options.name)
    this.#add({
      kind: 'source',
      name: options.name,
      topics: names,
      pattern,
      keySerde: options.keySerde,
      valueSerde: options.valueSerde,
      timestampExtractor: options.timestampExtractor,
      offsetReset: options.offsetReset,
    })
    return this
  }

  /** Adds a processor under `parentNames`; stores the supplier declares are added and connected. */
  addProcessor<KIn, VIn, KOut, VOut>(
    name: string,
    supplier: ProcessorSupplier<KIn, VIn, KOut, VOut>,
    ...parentNames: string[]
  ): this {
    this.#checkOpen()
    this.#checkName(name, 'processor')
    if (typeof supplier !== 'function' && typeof supplier?.get !== 'function') {
      throw streamsError(
        'TRB_STREAMS_INVALID_ARGUMENT',
        `processor '${name}' needs a supplier (a function or { get() })`,
      )
    }
    this.#checkParents(name, parentNames, 'processor')
    this.#add({
      kind: 'processor',
      name,
      supplier: supplier as unknown as ProcessorSupplier<never, never, never, never>,
      parents: parentNames,
    })
    this.#processorStores.set(name, new Set())
    for (const builder of supplierStores(supplier as unknown as ProcessorSupplier<never, never, never, never>)) {
      if (!this.#stores.has(builder.name)) this.addStateStore(builder)
      this.connectProcessorAndStateStores(name, builder.name)
    }
    return this
  }

  /** Adds a sink writing to `topic`, or to the topic `topic(key, value, metadata)` names per record. */
  addSink<K = never, V = never>(name: string, topic: string | TopicNameExtractor<K, V>, ...parentNames: string[]): this
  addSink<K = never, V = never>(
    options: SinkOptions<K, V> & { name: string },
    topic: string | TopicNameExtractor<K, V>,
    ...parentNames: string[]
  ): this
  addSink<K = never, V = never>(
    nameOrOptions: string | (SinkOptions<K, V> & { name: string }),
    topic: string | TopicNameExtractor<K, V>,
    ...parentNames: string[]
  ): this {
    this.#checkOpen()
    const options: SinkOptions<K, V> & { name: string } =
      typeof nameOrOptions === 'string' ? { name: nameOrOptions } : nameOrOptions
    this.#checkName(options.name, 'sink')
    if (typeof topic === 'string' && !topic) {
      throw streamsError('TRB_STREAMS_INVALID_ARGUMENT', `sink '${options.name}' has an empty topic name`)
    }
    this.#checkParents(options.name, parentNames, 'sink')
    const sink: SinkNodeDef = {
      kind: 'sink',
      name: options.name,
      topic: typeof topic === 'string' ? topic : undefined,
      topicExtractor: typeof topic === 'function' ? (topic as TopicNameExtractor<never, never>) : undefined,
      keySerde: options.keySerde as SyncSerde<unknown> | undefined,
      valueSerde: options.valueSerde as SyncSerde<unknown> | undefined,
      partitioner: options.partitioner as StreamPartitioner<never, never> | undefined,
      parents: parentNames,
    }
    this.#add(sink)
    return this
  }

  /** Adds a store, optionally connecting it to processors. A store name can be added once. */
  addStateStore(builder: StoreBuilder, ...processorNames: string[]): this {
    this.#checkOpen()
    if (this.#stores.has(builder.name)) {
      throw streamsError('TRB_STREAMS_STORE_EXISTS', `state store '${builder.name}' is already added to this topology`)
    }
    this.#stores.set(builder.name, { builder, global: false, users: new Set() })
    for (const p of processorNames) this.connectProcessorAndStateStores(p, builder.name)
    return this
  }

  connectProcessorAndStateStores(processorName: string, ...storeNames: string[]): this {
    this.#checkOpen()
    const node = this.#nodes.get(processorName)
    if (!node || node.kind !== 'processor') {
      throw streamsError('TRB_STREAMS_UNKNOWN_NODE', `processor '${processorName}' is not in the topology`)
    }
    for (const storeName of storeNames) {
      const store = this.#stores.get(storeName)
      if (!store)
        throw streamsError('TRB_STREAMS_UNKNOWN_STORE', `state store '${storeName}' is not added to the topology`)
      if (store.global) {
        throw streamsError(
          'TRB_STREAMS_INVALID_TOPOLOGY',
          `global store '${storeName}' cannot be connected to processor '${processorName}': processors read global stores without connecting them`,
        )
      }
      store.users.add(processorName)
      this.#processorStores.get(processorName)!.add(storeName)
    }
    return this
  }

  /**
   * Adds a global store: every instance reads all partitions of `topic` into it through `processor` (which must
   * write what it wants kept). The store must have logging disabled: the topic is its changelog.
   */
  addGlobalStore<K, V>(
    builder: StoreBuilder,
    sourceName: string,
    options: SourceOptions,
    topic: string,
    processorName: string,
    supplier: ProcessorSupplier<K, V, void, void>,
  ): this {
    this.#checkOpen()
    if (builder.loggingEnabled) {
      throw streamsError('TRB_STREAMS_INVALID_TOPOLOGY', `global store '${builder.name}' must have logging disabled`)
    }
    if (this.#stores.has(builder.name)) {
      throw streamsError('TRB_STREAMS_STORE_EXISTS', `state store '${builder.name}' is already added to this topology`)
    }
    this.addSource({ ...options, name: sourceName }, topic)
    this.#checkName(processorName, 'processor')
    this.#add({
      kind: 'processor',
      name: processorName,
      supplier: supplier as unknown as ProcessorSupplier<never, never, never, never>,
      parents: [sourceName],
    })
    this.#processorStores.set(processorName, new Set([builder.name]))
    this.#stores.set(builder.name, { builder, global: true, users: new Set([processorName]) })
    this.#globalTopics.add(topic)
    this.#globalNodes.add(sourceName)
    this.#globalNodes.add(processorName)
    return this
  }

  /** Declares an internal (repartition) topic; its real name is `<application.id>-<name>`. */
  addInternalTopic(name: string, numberOfPartitions?: number): this {
    this.#checkOpen()
    this.#internalTopics.set(name, { name, numberOfPartitions })
    return this
  }

  /** Declares source topics that must be co-partitioned (joins). */
  copartitionSources(sourceNames: string[]): this {
    this.#copartitionGroups.push(new Set(sourceNames))
    return this
  }

  // ---- read side ----------------------------------------------------------------------------------------------

  node(name: string): NodeDef | undefined {
    return this.#nodes.get(name)
  }

  nodes(): NodeDef[] {
    return [...this.#nodes.values()]
  }

  children(name: string): readonly string[] {
    return this.#children.get(name) ?? []
  }

  storesOf(processorName: string): readonly string[] {
    return [...(this.#processorStores.get(processorName) ?? [])]
  }

  store(name: string): StoreEntry | undefined {
    return this.#stores.get(name)
  }

  storeNames(): string[] {
    return [...this.#stores.keys()]
  }

  isInternalTopic(topic: string): boolean {
    return this.#internalTopics.has(topic)
  }

  internalTopics(): InternalTopicDef[] {
    return [...this.#internalTopics.values()]
  }

  globalTopics(): string[] {
    return [...this.#globalTopics]
  }

  isGlobalNode(name: string): boolean {
    return this.#globalNodes.has(name)
  }

  copartitionGroups(): string[][] {
    return this.#copartitionGroups.map((g) => [...g])
  }

  /** The real topic name: internal topics get the application id prefix. */
  resolveTopic(topic: string, applicationId: string): string {
    return this.#internalTopics.has(topic) ? `${applicationId}-${topic}` : topic
  }

  /** Node groups as Kafka Streams forms them: by parent links and shared stores, numbered by first node added. */
  #nodeGroups(): string[][] {
    const parent = new Map<string, string>()
    const find = (x: string): string => {
      let root = x
      while (parent.get(root) !== root) root = parent.get(root)!
      let cur = x
      while (parent.get(cur) !== root) {
        const next = parent.get(cur)!
        parent.set(cur, root)
        cur = next
      }
      return root
    }
    const unite = (a: string, b: string) => {
      const ra = find(a)
      const rb = find(b)
      if (ra !== rb) parent.set(ra, rb)
    }
    for (const name of this.#nodes.keys()) parent.set(name, name)
    for (const node of this.#nodes.values()) {
      if (node.kind !== 'source') for (const p of node.parents) unite(node.name, p)
    }
    for (const store of this.#stores.values()) {
      const users = [...store.users]
      for (let i = 1; i < users.length; i++) unite(users[0], users[i])
    }
    const groups = new Map<string, string[]>()
    for (const name of this.#nodes.keys()) {
      const root = find(name)
      let g = groups.get(root)
      if (!g) {
        g = []
        groups.set(root, g)
      }
      g.push(name)
    }
    return [...groups.values()]
  }

  /** The sub-topologies that generate tasks (global stores excluded), with their ids. */
  subtopologies(): Subtopology[] {
    return this.allGroups().filter((s) => !s.global)
  }

  /** Every node group, global store groups included (marked `global`). */
  allGroups(): Array<Subtopology & { global: boolean }> {
    const out: Array<Subtopology & { global: boolean }> = []
    this.#nodeGroups().forEach((nodes, id) => {
      const global = nodes.some((n) => this.#globalNodes.has(n))
      const sourceTopics: string[] = []
      const sinkTopics: string[] = []
      const stores = new Set<string>()
      for (const name of nodes) {
        const node = this.#nodes.get(name)!
        if (node.kind === 'source') sourceTopics.push(...node.topics)
        else if (node.kind === 'sink' && node.topic !== undefined) sinkTopics.push(node.topic)
        else if (node.kind === 'processor') for (const s of this.#processorStores.get(name) ?? []) stores.add(s)
      }
      out.push({ id, nodes, sourceTopics, sinkTopics, stores: [...stores], global })
    })
    return out
  }

  /** The global store groups: source, processor, store, topic. */
  globalStoreGroups(): Array<{ id: number; source: SourceNodeDef; processor: ProcessorNodeDef; store: string }> {
    const out: Array<{ id: number; source: SourceNodeDef; processor: ProcessorNodeDef; store: string }> = []
    this.#nodeGroups().forEach((nodes, id) => {
      if (!nodes.some((n) => this.#globalNodes.has(n))) return
      const source = nodes.map((n) => this.#nodes.get(n)!).find((n): n is SourceNodeDef => n.kind === 'source')!
      const processor = nodes
        .map((n) => this.#nodes.get(n)!)
        .find((n): n is ProcessorNodeDef => n.kind === 'processor')!
      out.push({ id, source, processor, store: [...this.#processorStores.get(processor.name)!][0] })
    })
    return out
  }

  #describeNodes(names: readonly string[]): NodeDescription[] {
    const inGroup = new Set(names)
    const sizes = new Map<string, number>()
    const size = (n: string): number => {
      let s = sizes.get(n)
      if (s !== undefined) return s
      s = 1
      for (const c of this.#children.get(n) ?? []) if (inGroup.has(c)) s += size(c)
      sizes.set(n, s)
      return s
    }
    // Kafka Streams orders nodes by the size of the sub-tree they root (largest first), then by name.
    const order = (a: string, b: string) => size(b) - size(a) || (a < b ? -1 : a > b ? 1 : 0)
    const describe = (name: string): NodeDescription => {
      const node = this.#nodes.get(name)!
      const successors = [...(this.#children.get(name) ?? [])].filter((c) => inGroup.has(c)).sort(order)
      const predecessors = node.kind === 'source' ? [] : [...node.parents].sort(order)
      switch (node.kind) {
        case 'source':
          return node.pattern
            ? { type: 'source', name, predecessors, successors, topicPattern: node.pattern.source }
            : { type: 'source', name, predecessors, successors, topics: [...node.topics] }
        case 'processor':
          return {
            type: 'processor',
            name,
            predecessors,
            successors,
            stores: [...(this.#processorStores.get(name) ?? [])],
          }
        case 'sink':
          return node.topic !== undefined
            ? { type: 'sink', name, predecessors, successors, topic: node.topic }
            : {
                type: 'sink',
                name,
                predecessors,
                successors,
                topicExtractor: node.topicExtractor?.name || 'TopicNameExtractor',
              }
      }
    }
    return [...names].sort(order).map(describe)
  }

  /** The topology as data: Kafka Streams' TopologyDescription (`toString()` gives its text form). */
  describe(): TopologyDescription {
    const subtopologies: SubtopologyDescription[] = this.subtopologies().map((s) => ({
      id: s.id,
      nodes: this.#describeNodes(s.nodes),
    }))
    const globalStores: GlobalStoreDescription[] = this.globalStoreGroups().map((g) => {
      const [source, processor] = this.#describeNodes([g.source.name, g.processor.name])
      return { id: g.id, source: { ...source, successors: [] }, processor: { ...processor, predecessors: [] } }
    })
    return new TopologyDescription({
      subtopologies,
      globalStores,
      repartitionTopics: [...this.#internalTopics.keys()],
      stores: [...this.#stores.values()].map((s) => ({
        name: s.builder.name,
        changelogTopic: s.builder.loggingEnabled && !s.global ? `${s.builder.name}-changelog` : null,
        persistent: s.builder.persistent,
      })),
    })
  }

  /** Checks what can only be checked once the topology is complete. */
  validate(): void {
    if (this.#nodes.size === 0) {
      throw streamsError(
        'TRB_STREAMS_INVALID_TOPOLOGY',
        'the topology is empty: add a source (builder.stream/table or addSource)',
      )
    }
    for (const [name, store] of this.#stores) {
      if (!store.global && store.users.size === 0) {
        throw streamsError(
          'TRB_STREAMS_INVALID_TOPOLOGY',
          `state store '${name}' is not connected to any processor: pass its name to process() or connectProcessorAndStateStores`,
        )
      }
    }
  }

  /** Makes the source changelog optimization explicit: restore `store` from `topic` (not used by default). */
  useSourceAsChangelog(storeName: string, topic: string): this {
    this.#sourceChangelogs.set(storeName, topic)
    return this
  }

  sourceChangelog(storeName: string): string | undefined {
    return this.#sourceChangelogs.get(storeName)
  }

  toString(): string {
    return this.describe().toString()
  }
}
