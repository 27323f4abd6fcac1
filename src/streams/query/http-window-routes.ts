/**
 * Interactive queries over HTTP for window and session stores (the routes of query/http-server.ts for Kafka
 * Streams' ReadOnlyWindowStore / ReadOnlySessionStore): a key's windows in a time range and a key's sessions are
 * answered by the instance holding the key's partition (forwarded there from any instance); a key range (or all
 * keys) in a time range is gathered from every instance holding a partition. Answers carry the position of the
 * partitions read, and `?position=` waits for it, as the key-value routes do.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ValueAndTimestamp } from '../processor/record.ts'
import type { KeyValueIterator } from '../state/key-value-store.ts'
import type { StateStore } from '../state/state-store.ts'
import { type Answer, bool, type CommonParams, int, type LocalPart, single } from './http-server.ts'
import type { Position } from './position.ts'
import type { LocalStoreInstance, QueryableStoreType } from './store-types.ts'
import {
  isSessionStore,
  isTimestamped,
  isWindowStore,
  type QueryableSessionStore,
  type QueryableWindowStore,
  type WindowedKey,
  windowView,
} from './window-store-types.ts'

/** What the window routes use of the key-value routes' machinery (closures of registerInteractiveQueries). */
export interface WindowRouteContext {
  readonly prefix: string
  readonly defaultLimit: number
  readonly maxLimit: number
  send(reply: FastifyReply, answer: () => Promise<Answer>): Promise<unknown>
  byKey(
    req: FastifyRequest,
    path: string,
    local: (key: unknown, partition: number | undefined, q: CommonParams) => Promise<Record<string, unknown>>,
  ): Promise<Answer>
  gathered(
    req: FastifyRequest,
    path: string,
    local: (partitions: number[] | undefined, q: CommonParams) => Promise<LocalPart>,
    merge: (parts: LocalPart[], q: CommonParams) => Record<string, unknown>,
  ): Promise<Answer>
  localInstances<S>(
    store: string,
    type: QueryableStoreType<unknown, S>,
    q: CommonParams,
    partitions: readonly number[] | undefined,
  ): Promise<Array<LocalStoreInstance<S>>>
  parseKey(store: string, text: string, what?: string): unknown
  positionOf(instances: ReadonlyArray<{ position: Position }>): Position
  positionFields(position: Position): Record<string, unknown>
  host(): string | null
}

interface RawWindow {
  readonly view: QueryableWindowStore<unknown, unknown>
  readonly timestamped: boolean
}

/** Window stores as they are (a timestamped store's values with their timestamps). */
const RAW_WINDOW: QueryableStoreType<null, RawWindow> = {
  kind: 'windowStore',
  accepts: isWindowStore,
  view: (store: StateStore) => ({ view: windowView(store, (raw) => raw), timestamped: isTimestamped(store) }),
  create: () => null,
}

const RAW_SESSION: QueryableStoreType<null, QueryableSessionStore<unknown, unknown>> = {
  kind: 'sessionStore',
  accepts: isSessionStore,
  view: (store: StateStore) => store as unknown as QueryableSessionStore<unknown, unknown>,
  create: () => null,
}

const MAX_TIME = Number.MAX_SAFE_INTEGER

function value(raw: unknown, timestamped: boolean): Record<string, unknown> {
  if (!timestamped) return { value: raw }
  const v = raw as ValueAndTimestamp<unknown>
  return { value: v.value, timestamp: v.timestamp }
}

/** Reads at most `limit` entries of `it` (then closes it); `truncated` tells whether more were left. */
function take<K, V, T>(
  it: KeyValueIterator<K, V>,
  limit: number,
  map: (key: K, value: V) => T,
): { entries: T[]; truncated: boolean } {
  const entries: T[] = []
  let truncated = false
  try {
    for (const e of it) {
      if (entries.length === limit) {
        truncated = true
        break
      }
      entries.push(map(e.key, e.value))
    }
  } finally {
    it.close()
  }
  return { entries, truncated }
}

const windowed = (k: WindowedKey<unknown>) => ({ key: k.key, start: k.window.startMs, end: k.window.endMs })

/** Entries of several instances in one order: by window start, then key (as JSON), then end; reversed on request. */
function sortEntries(entries: Array<Record<string, unknown>>, reverse: boolean): Array<Record<string, unknown>> {
  const keyText = (e: Record<string, unknown>) => JSON.stringify(e.key) ?? ''
  return entries.sort((a, b) => {
    const byStart = (a.start as number) - (b.start as number)
    const ka = keyText(a)
    const kb = keyText(b)
    const order = byStart !== 0 ? byStart : ka < kb ? -1 : ka > kb ? 1 : (a.end as number) - (b.end as number)
    return reverse ? -order : order
  })
}

export function registerWindowRoutes(app: FastifyInstance, c: WindowRouteContext): void {
  const { prefix } = c
  const path = (store: string, ...rest: string[]) =>
    `/stores/${[store, ...rest].map((p) => encodeURIComponent(p)).join('/')}`
  const times = (query: Record<string, unknown>, fromName: string, toName: string) => {
    const from = int(single(query, fromName), fromName, 0, MAX_TIME) ?? 0
    const to = int(single(query, toName), toName, 0, MAX_TIME) ?? MAX_TIME
    return { from, to }
  }
  const limitOf = (query: Record<string, unknown>) =>
    int(single(query, 'limit'), 'limit', 1, c.maxLimit) ?? c.defaultLimit

  /** Merges the instances' parts of a gathered query: entries in one order, cut at the limit. */
  const mergeEntries = (reverse: boolean, limit: number) => (parts: LocalPart[]) => {
    const entries = sortEntries(
      parts.flatMap((p) => p.entries as Array<Record<string, unknown>>),
      reverse,
    )
    return {
      entries: entries.slice(0, limit),
      truncated: entries.length > limit || parts.some((p) => p.truncated === true),
    }
  }

  // A key's windows starting in [from, to]: ReadOnlyWindowStore.fetch(key, timeFrom, timeTo).
  app.get(`${prefix}/stores/:store/keys/:key/windows`, (req, reply) =>
    c.send(reply, () => {
      const { store, key: keyText } = req.params as { store: string; key: string }
      const query = req.query as Record<string, unknown>
      const { from, to } = times(query, 'from', 'to')
      const reverse = bool(single(query, 'reverse'), 'reverse')
      const limit = limitOf(query)
      return c.byKey(req, path(store, 'keys', keyText, 'windows'), async (key, partition, q) => {
        const instances = await c.localInstances(
          store,
          RAW_WINDOW,
          q,
          partition === undefined ? undefined : [partition],
        )
        let windows: Array<Record<string, unknown>> = []
        let truncated = false
        for (const i of instances) {
          const v = i.store.view
          const it = reverse ? v.backwardFetch(key, key, from, to) : v.fetch(key, key, from, to)
          const part = take(it, limit, (k, raw) => {
            const w = windowed(k)
            return { start: w.start, end: w.end, ...value(raw, i.store.timestamped) }
          })
          if (part.entries.length > 0) {
            windows = part.entries
            truncated = part.truncated
            break
          }
        }
        return {
          store,
          key,
          windows,
          truncated,
          partition: partition ?? null,
          host: c.host(),
          standby: instances.some((i) => i.standby),
          ...c.positionFields(c.positionOf(instances)),
        }
      })
    }),
  )

  // Windows of keys in [keyFrom, keyTo] (all keys without either) starting in [from, to], from every partition.
  app.get(`${prefix}/stores/:store/windows`, (req, reply) =>
    c.send(reply, () => {
      const { store } = req.params as { store: string }
      const query = req.query as Record<string, unknown>
      const { from, to } = times(query, 'from', 'to')
      const keyFromText = single(query, 'keyFrom')
      const keyToText = single(query, 'keyTo')
      const reverse = bool(single(query, 'reverse'), 'reverse')
      const limit = limitOf(query)
      return c.gathered(
        req,
        path(store, 'windows'),
        async (partitions, q) => {
          const instances = await c.localInstances(store, RAW_WINDOW, q, partitions)
          const keyFrom = keyFromText === undefined ? null : c.parseKey(store, keyFromText, 'keyFrom')
          const keyTo = keyToText === undefined ? null : c.parseKey(store, keyToText, 'keyTo')
          const entries: Array<Record<string, unknown>> = []
          let truncated = false
          for (const i of instances) {
            const v = i.store.view
            const it =
              keyFrom === null && keyTo === null
                ? reverse
                  ? v.backwardFetchAll(from, to)
                  : v.fetchAll(from, to)
                : reverse
                  ? v.backwardFetch(keyFrom, keyTo, from, to)
                  : v.fetch(keyFrom, keyTo, from, to)
            const part = take(it, limit, (k, raw) => ({ ...windowed(k), ...value(raw, i.store.timestamped) }))
            entries.push(...part.entries)
            truncated ||= part.truncated
          }
          return {
            entries,
            truncated,
            partitions: instances.map((i) => i.partition),
            position: c.positionOf(instances),
          }
        },
        mergeEntries(reverse, limit),
      )
    }),
  )

  // A key's sessions ending at or after `from` and starting at or before `to`: ReadOnlySessionStore.findSessions.
  app.get(`${prefix}/stores/:store/keys/:key/sessions`, (req, reply) =>
    c.send(reply, () => {
      const { store, key: keyText } = req.params as { store: string; key: string }
      const query = req.query as Record<string, unknown>
      const { from, to } = times(query, 'from', 'to')
      const reverse = bool(single(query, 'reverse'), 'reverse')
      const limit = limitOf(query)
      return c.byKey(req, path(store, 'keys', keyText, 'sessions'), async (key, partition, q) => {
        const instances = await c.localInstances(
          store,
          RAW_SESSION,
          q,
          partition === undefined ? undefined : [partition],
        )
        let sessions: Array<Record<string, unknown>> = []
        let truncated = false
        for (const i of instances) {
          const it = reverse ? i.store.backwardFindSessions(key, from, to) : i.store.findSessions(key, from, to)
          const part = take(it, limit, (k, agg) => {
            const w = windowed(k)
            return { start: w.start, end: w.end, value: agg }
          })
          if (part.entries.length > 0) {
            sessions = part.entries
            truncated = part.truncated
            break
          }
        }
        return {
          store,
          key,
          sessions,
          truncated,
          partition: partition ?? null,
          host: c.host(),
          standby: instances.some((i) => i.standby),
          ...c.positionFields(c.positionOf(instances)),
        }
      })
    }),
  )

  // Sessions of keys in [keyFrom, keyTo] (all keys without either), from every partition.
  app.get(`${prefix}/stores/:store/sessions`, (req, reply) =>
    c.send(reply, () => {
      const { store } = req.params as { store: string }
      const query = req.query as Record<string, unknown>
      const keyFromText = single(query, 'keyFrom')
      const keyToText = single(query, 'keyTo')
      const limit = limitOf(query)
      return c.gathered(
        req,
        path(store, 'sessions'),
        async (partitions, q) => {
          const instances = await c.localInstances(store, RAW_SESSION, q, partitions)
          const keyFrom = keyFromText === undefined ? null : c.parseKey(store, keyFromText, 'keyFrom')
          const keyTo = keyToText === undefined ? null : c.parseKey(store, keyToText, 'keyTo')
          const entries: Array<Record<string, unknown>> = []
          let truncated = false
          for (const i of instances) {
            const part = take(i.store.fetch(keyFrom, keyTo), limit, (k, agg) => ({ ...windowed(k), value: agg }))
            entries.push(...part.entries)
            truncated ||= part.truncated
          }
          return {
            entries,
            truncated,
            partitions: instances.map((i) => i.partition),
            position: c.positionOf(instances),
          }
        },
        mergeEntries(false, limit),
      )
    }),
  )
}
