/** The topology as data: what `Topology.describe()` returns (Kafka Streams' TopologyDescription). */

export interface NodeDescription {
  readonly type: 'source' | 'processor' | 'sink'
  readonly name: string
  readonly predecessors: readonly string[]
  readonly successors: readonly string[]
  /** Sources: the topics read (or the pattern as `/.../`). */
  readonly topics?: readonly string[]
  readonly topicPattern?: string
  /** Processors: the stores connected. */
  readonly stores?: readonly string[]
  /** Sinks: the topic written, or the extractor's name when chosen per record. */
  readonly topic?: string
  readonly topicExtractor?: string
}

export interface SubtopologyDescription {
  readonly id: number
  readonly nodes: readonly NodeDescription[]
}

export interface GlobalStoreDescription {
  readonly id: number
  readonly source: NodeDescription
  readonly processor: NodeDescription
}

export interface TopologyDescriptionJson {
  readonly subtopologies: readonly SubtopologyDescription[]
  readonly globalStores: readonly GlobalStoreDescription[]
  /** Internal topics (short names, without the application id prefix). */
  readonly repartitionTopics: readonly string[]
  /** Stores with their changelog topics (short names: `<store>-changelog`), absent when logging is disabled. */
  readonly stores: readonly { name: string; changelogTopic: string | null; persistent: boolean }[]
}

function names(list: readonly string[]): string {
  return list.length === 0 ? 'none' : list.join(', ')
}

function nodeText(n: NodeDescription): string {
  switch (n.type) {
    case 'source':
      return `Source: ${n.name} (topics: ${n.topicPattern ?? `[${(n.topics ?? []).join(', ')}]`})\n      --> ${names(n.successors)}`
    case 'processor':
      return `Processor: ${n.name} (stores: [${(n.stores ?? []).join(', ')}])\n      --> ${names(n.successors)}\n      <-- ${names(n.predecessors)}`
    case 'sink':
      return n.topic !== undefined
        ? `Sink: ${n.name} (topic: ${n.topic})\n      <-- ${names(n.predecessors)}`
        : `Sink: ${n.name} (extractor class: ${n.topicExtractor})\n      <-- ${names(n.predecessors)}`
  }
}

export class TopologyDescription implements TopologyDescriptionJson {
  readonly subtopologies: readonly SubtopologyDescription[]
  readonly globalStores: readonly GlobalStoreDescription[]
  readonly repartitionTopics: readonly string[]
  readonly stores: readonly { name: string; changelogTopic: string | null; persistent: boolean }[]

  constructor(json: TopologyDescriptionJson) {
    this.subtopologies = json.subtopologies
    this.globalStores = json.globalStores
    this.repartitionTopics = json.repartitionTopics
    this.stores = json.stores
  }

  /** Kafka Streams' text form, line for line (sub-topologies and global stores in id order). */
  toString(): string {
    let out = 'Topologies:\n '
    const parts: Array<{ id: number; text: string }> = [
      ...this.subtopologies.map((s) => ({
        id: s.id,
        text: `Sub-topology: ${s.id}\n${s.nodes.map((n) => `    ${nodeText(n)}\n`).join('')}\n`,
      })),
      ...this.globalStores.map((g) => ({
        id: g.id,
        text: `Sub-topology: ${g.id} for global store (will not generate tasks)\n    ${nodeText(g.source)}\n    ${nodeText(g.processor)}\n`,
      })),
    ].sort((a, b) => a.id - b.id)
    for (const p of parts) out += `  ${p.text}`
    return out
  }

  toJSON(): TopologyDescriptionJson {
    return {
      subtopologies: this.subtopologies,
      globalStores: this.globalStores,
      repartitionTopics: this.repartitionTopics,
      stores: this.stores,
    }
  }
}
