/**
 * The stock accounting service of the book's inventory example: deliveries, sales and returns arrive as events
 * keyed by SKU; the service keeps the stock level of every SKU in a state store and publishes each change to
 * `inventory.stock`. A sale that takes a SKU below zero also goes to `inventory.alerts` (it was oversold).
 * Run with processing.guarantee=exactly_once_v2, every event changes the stock exactly once, even when an
 * instance crashes mid-way ("effectively once").
 */
import {
  Consumed,
  Grouped,
  Materialized,
  Produced,
  Serdes,
  StreamsBuilder,
  type Topology,
} from '../../src/streams/index.ts'

export const Topics = {
  deliveries: 'inventory.deliveries',
  sales: 'inventory.sales',
  returns: 'inventory.returns',
  stock: 'inventory.stock',
  alerts: 'inventory.alerts',
} as const

/** An inventory event; the record key is the SKU. */
export interface StockEvent {
  readonly id: string
  readonly quantity: number
}

export interface StockAlert {
  readonly sku: string
  readonly level: number
}

export function inventoryTopology(): Topology {
  const builder = new StreamsBuilder()
  const events = Consumed.with(Serdes.String(), Serdes.Json<StockEvent>())
  const deliveries = builder.stream(Topics.deliveries, events).mapValues((e) => e.quantity)
  const sales = builder.stream(Topics.sales, events).mapValues((e) => -e.quantity)
  const returns = builder.stream(Topics.returns, events).mapValues((e) => e.quantity)
  const stock = deliveries
    .merge(sales)
    .merge(returns)
    .groupByKey(Grouped.with(Serdes.String(), Serdes.Long()))
    .reduce((level, change) => level + change, Materialized.as<string, number>('stock-levels'))
  const changes = stock.toStream()
  changes.to(Topics.stock, Produced.with(Serdes.String(), Serdes.Long()))
  changes
    .filter((_sku, level) => level < 0)
    .mapValues((level, sku): StockAlert => ({ sku, level }))
    .to(Topics.alerts, Produced.with(Serdes.String(), Serdes.Json<StockAlert>()))
  return builder.build()
}

/** The service's configuration (Kafka Streams' property names). */
export function inventoryConfig(bootstrap: string, stateDir: string) {
  return {
    'application.id': 'inventory-service',
    'bootstrap.servers': bootstrap,
    'processing.guarantee': 'exactly_once_v2' as const,
    'state.dir': stateDir,
    'log.level': 'warn' as const,
  }
}
