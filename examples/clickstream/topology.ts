/**
 * Clickstream sessions (the book's session windows over clicks and views): page views and ad clicks of each user,
 * grouped into sessions of activity (a session ends after 30 minutes without an event), with the number of views
 * and clicks of each session and its click-through rate (clicks / views).
 *
 *   clickstream.views ─┐
 *                      ├─► merge ─► groupByKey (user) ─► session windows (30 min gap) ─► aggregate ─► clickstream.sessions
 *   clickstream.clicks ┘                                                                    (store user-sessions)
 *
 * Every update of a session is published, keyed `<user>@<session start>`; when an event bridges two sessions they
 * merge, and the merged-away session is deleted (a tombstone), so the topic, read as a table, holds the current
 * sessions. An event is still placed in its session when stream time (the latest event time seen) is less than
 * gap + grace (1 hour: phones come back online) past that session's end; later ones are dropped.
 */
import {
  Consumed,
  Grouped,
  KeyValue,
  Materialized,
  Produced,
  Serdes,
  SessionWindows,
  StreamsBuilder,
  type Topology,
} from '../../src/streams/index.ts'

export const Topics = {
  views: 'clickstream.views',
  clicks: 'clickstream.clicks',
  sessions: 'clickstream.sessions',
} as const

export const INACTIVITY_GAP_MS = 30 * 60_000
export const GRACE_MS = 60 * 60_000

/** `clickstream.views` and `clickstream.clicks`, keyed by user id. */
export interface PageEvent {
  readonly page: string
}

/** A session's running counts (the aggregate kept in the session store). */
export interface Activity {
  readonly views: number
  readonly clicks: number
}

/** `clickstream.sessions`, keyed `<user>@<start>`. */
export interface Session extends Activity {
  readonly user: string
  /** Timestamps of the session's first and last events (ms). */
  readonly start: number
  readonly end: number
  /** clicks / views (0 without views). */
  readonly clickThroughRate: number
}

type Event = { readonly kind: 'view' | 'click' }

export function clickstreamTopology(): Topology {
  const builder = new StreamsBuilder()
  const S = Serdes.String()
  const views = builder
    .stream(Topics.views, Consumed.with(S, Serdes.Json<PageEvent>()))
    .mapValues((): Event => ({ kind: 'view' }))
  const clicks = builder
    .stream(Topics.clicks, Consumed.with(S, Serdes.Json<PageEvent>()))
    .mapValues((): Event => ({ kind: 'click' }))
  views
    .merge(clicks)
    .groupByKey(Grouped.with(S, Serdes.Json<Event>()))
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(INACTIVITY_GAP_MS, GRACE_MS))
    .aggregate<Activity>(
      () => ({ views: 0, clicks: 0 }),
      (_user, event, a) => (event.kind === 'view' ? { ...a, views: a.views + 1 } : { ...a, clicks: a.clicks + 1 }),
      (_user, a, b) => ({ views: a.views + b.views, clicks: a.clicks + b.clicks }),
      Materialized.as<string, Activity>('user-sessions').withValueSerde(Serdes.Json<Activity>()),
    )
    .toStream()
    .map((session, activity) =>
      KeyValue.pair(
        `${session.key}@${session.window.startMs}`,
        activity === null || activity === undefined
          ? null
          : ({
              user: session.key,
              start: session.window.startMs,
              end: session.window.endMs,
              ...activity,
              clickThroughRate: activity.views === 0 ? 0 : activity.clicks / activity.views,
            } satisfies Session),
      ),
    )
    .to(Topics.sessions, Produced.with(S, Serdes.Json<Session | null>()))
  return builder.build()
}

/** The service's configuration (Kafka Streams' property names). */
export function clickstreamConfig(bootstrap: string, stateDir: string) {
  return {
    'application.id': 'clickstream',
    'bootstrap.servers': bootstrap,
    'state.dir': stateDir,
    'commit.interval.ms': 100,
    'log.level': 'warn' as const,
  }
}
