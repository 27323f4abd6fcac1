/**
 * Ad conversions (the book's stream-table-table enrichment join): which ad led to a purchase, and how its campaign
 * performs. Three inputs: `ads.campaigns` (ad id → campaign, a GlobalKTable: every instance holds all of it, loaded
 * before processing starts), `ads.clicks` (a stream keyed by user: the ad a user clicked) and `ads.purchases` (a
 * stream keyed by user).
 *
 *   ads.clicks ──► toTable (last click per user, a KTable) ◄── join ── ads.purchases     (stream-table, by user)
 *        │                                                        └──► join campaigns by ad id ─► ads.conversions
 *        └──► join campaigns by ad id ─► groupBy campaign ─► count ─► ads.campaign-clicks  (stream-global-table)
 *
 * A purchase by a user who clicked no ad, or whose ad has no campaign, is not a conversion (inner joins): dropped.
 */
import {
  Consumed,
  Grouped,
  Joined,
  Materialized,
  Produced,
  Serdes,
  StreamsBuilder,
  type Topology,
} from '../../src/streams/index.ts'

export const Topics = {
  campaigns: 'ads.campaigns',
  clicks: 'ads.clicks',
  purchases: 'ads.purchases',
  conversions: 'ads.conversions',
  campaignClicks: 'ads.campaign-clicks',
} as const

/** `ads.campaigns`, keyed by ad id. */
export interface Campaign {
  readonly campaign: string
  readonly advertiser: string
}
/** `ads.clicks`, keyed by user id. */
export interface Click {
  readonly adId: string
}
/** `ads.purchases`, keyed by user id. */
export interface Purchase {
  readonly orderId: string
  readonly amount: number
}
/** `ads.conversions`, keyed by ad id. */
export interface Conversion {
  readonly orderId: string
  readonly userId: string
  readonly amount: number
  readonly adId: string
  readonly campaign: string
  readonly advertiser: string
}

export function adConversionsTopology(): Topology {
  const builder = new StreamsBuilder()
  const S = Serdes.String()
  const campaigns = builder.globalTable(
    Topics.campaigns,
    Consumed.with(S, Serdes.Json<Campaign>()),
    Materialized.as<string, Campaign>('campaigns'),
  )
  const clicks = builder.stream(Topics.clicks, Consumed.with(S, Serdes.Json<Click>()))
  const lastClick = clicks.toTable('last-click', Materialized.as<string, Click>('last-click-per-user'))

  // Purchases enriched with the user's last click (co-partitioned by user), then with the ad's campaign.
  builder
    .stream(Topics.purchases, Consumed.with(S, Serdes.Json<Purchase>()))
    .join(lastClick, (purchase, click, userId) => ({ ...purchase, userId, adId: click.adId }), Joined.as('attribute'))
    .join(
      campaigns,
      (_userId, p) => p.adId,
      (p, c): Conversion => ({ ...p, campaign: c.campaign, advertiser: c.advertiser }),
      'enrich',
    )
    .selectKey((_userId, conversion) => conversion.adId)
    .to(Topics.conversions, Produced.with(S, Serdes.Json<Conversion>()))

  // Clicks per campaign.
  clicks
    .join(
      campaigns,
      (_userId, click) => click.adId,
      (_click, c) => c.campaign,
    )
    .groupBy((_userId, campaign) => campaign, Grouped.with(S, S))
    .count(Materialized.as<string, number>('campaign-clicks'))
    .toStream()
    .to(Topics.campaignClicks, Produced.with(S, Serdes.Long()))
  return builder.build()
}

/** The service's configuration (Kafka Streams' property names). */
export function adConversionsConfig(bootstrap: string, stateDir: string) {
  return {
    'application.id': 'ad-conversions',
    'bootstrap.servers': bootstrap,
    'state.dir': stateDir,
    'commit.interval.ms': 100,
    'log.level': 'warn' as const,
  }
}
