/**
 * Driving a String-keyed, String-valued topology through the TopologyTestDriver in tests: the inputs piped in order
 * (input topics created as they first appear), every output topic read after each input record.
 */
import { Serdes, StreamsBuilder } from '../../src/streams/index.ts'
import { TopologyTestDriver } from '../../src/streams/testing/index.ts'

export type StringInput = [topic: string, key: string | null, value: string | null, timestamp: number]
export type StringOutput = [key: string, value: string | null, timestamp: number]

/** Runs `inputs` through the topology `build` makes; the driver stays open for store checks (the caller closes it). */
export function pipeStrings(
  build: (b: StreamsBuilder) => void,
  inputs: readonly StringInput[],
  outputs: readonly string[],
  config: { [name: string]: unknown },
): { out: { [topic: string]: StringOutput[] }; driver: TopologyTestDriver } {
  const S = Serdes.String()
  const b = new StreamsBuilder()
  build(b)
  const driver = new TopologyTestDriver(b.build(), config)
  try {
    const ins = new Map<string, ReturnType<typeof driver.createInputTopic<string | null, string>>>()
    const outs = outputs.map((t) => [t, driver.createOutputTopic(t, S, S)] as const)
    const out: { [topic: string]: StringOutput[] } = Object.fromEntries(outputs.map((t) => [t, [] as StringOutput[]]))
    for (const [topic, key, value, ts] of inputs) {
      if (!ins.has(topic)) ins.set(topic, driver.createInputTopic(topic, S, S))
      ins.get(topic)!.pipeInput(key, value, ts)
      for (const [t, o] of outs)
        for (const r of o.readRecordsToList()) out[t]!.push([r.key as string, r.value, r.timestamp])
    }
    return { out, driver }
  } catch (error) {
    driver.close()
    throw error
  }
}
