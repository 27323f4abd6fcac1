/**
 * Reads a request body that is a stream of concatenated JSON objects (`{...}{...}` or one per line), as Confluent's
 * streaming produce sends them, and yields each object as soon as its closing brace arrives. Only the bytes of the
 * object being read are held, so a connection can stream records for as long as it stays open.
 */
import { malformedJson, payloadTooLarge } from './errors.ts'

const OPEN = 0x7b
const CLOSE = 0x7d
const QUOTE = 0x22
const BACKSLASH = 0x5c

export interface JsonStreamOptions {
  /** Largest single JSON object accepted, in bytes. */
  maxObjectBytes: number
}

export async function* readJsonObjects(
  body: AsyncIterable<Buffer | string>,
  options: JsonStreamOptions,
): AsyncGenerator<unknown> {
  let pending: Buffer[] = []
  let pendingBytes = 0
  let depth = 0
  let inString = false
  let escaped = false
  let started = false
  for await (const raw of body) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw
    let objectStart = 0
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]
      if (!started) {
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue
        if (c !== OPEN) {
          throw malformedJson(`expected '{' at the start of a record, found '${String.fromCharCode(c)}'`)
        }
        started = true
        depth = 1
        objectStart = i
        continue
      }
      if (inString) {
        if (escaped) escaped = false
        else if (c === BACKSLASH) escaped = true
        else if (c === QUOTE) inString = false
        continue
      }
      if (c === QUOTE) inString = true
      else if (c === OPEN || c === 0x5b) depth++
      else if (c === CLOSE || c === 0x5d) {
        depth--
        if (depth === 0) {
          const part = chunk.subarray(objectStart, i + 1)
          const text = pending.length === 0 ? part : Buffer.concat([...pending, part])
          pending = []
          pendingBytes = 0
          started = false
          if (text.length > options.maxObjectBytes) throw payloadTooLarge()
          let parsed: unknown
          try {
            parsed = JSON.parse(text.toString('utf8'))
          } catch (error) {
            throw malformedJson((error as Error).message)
          }
          yield parsed
        }
      }
    }
    if (started) {
      const rest = chunk.subarray(objectStart)
      pending.push(rest)
      pendingBytes += rest.length
      if (pendingBytes > options.maxObjectBytes) throw payloadTooLarge()
    }
  }
  if (started) throw malformedJson('the body ended inside a JSON object')
}
