/**
 * Sends one inventory event:
 *   node --import tsx examples/inventory/send.ts delivery SKU-1 10
 *   node --import tsx examples/inventory/send.ts sale SKU-1 3
 *   node --import tsx examples/inventory/send.ts return SKU-1 1
 */
import { randomUUID } from 'node:crypto'
import { createProducer } from '../../src/client/index.ts'
import { type StockEvent, Topics } from './topology.ts'

const kinds = { delivery: Topics.deliveries, sale: Topics.sales, return: Topics.returns } as const

export async function sendEvents(
  bootstrap: string,
  events: Array<{ kind: keyof typeof kinds; sku: string; quantity: number }>,
): Promise<void> {
  const producer = createProducer({ bootstrap, clientId: 'inventory-sender' })
  try {
    await producer.send({
      messages: events.map((e) => {
        const value: StockEvent = { id: randomUUID(), quantity: e.quantity }
        return { topic: kinds[e.kind], key: Buffer.from(e.sku), value: Buffer.from(JSON.stringify(value)) }
      }),
    })
  } finally {
    await producer.close()
  }
}

if (import.meta.filename === process.argv[1]) {
  const [kind, sku, quantity] = process.argv.slice(2)
  if (!(kind in kinds) || !sku || !(Number(quantity) > 0)) {
    console.error('usage: send.ts delivery|sale|return <sku> <quantity>')
    process.exit(2)
  }
  await sendEvents(process.env.TRIBUTARY_BOOTSTRAP ?? '127.0.0.1:9092', [
    { kind: kind as keyof typeof kinds, sku, quantity: Number(quantity) },
  ])
  console.log(`sent ${kind} of ${quantity} × ${sku}`)
}
