import type { ParsedSchema, SchemaFormat } from '../serde/formats/format.ts'
import type { CompatibilityLevel, Incompatibility } from './types.ts'

export interface PreviousSchema {
  version: number
  parsed: ParsedSchema
}

export interface CompatibilityResult {
  compatible: boolean
  /** One line per incompatibility, in Confluent's verbose style. */
  messages: string[]
  incompatibilities: (Incompatibility & { version: number; direction: 'backward' | 'forward' })[]
}

/**
 * Applies a compatibility level: which previous versions to compare (latest only or all, for the transitive
 * levels) and in which direction (BACKWARD: the new schema reads old data; FORWARD: old schemas read new data).
 */
export function checkCompatibility(
  format: SchemaFormat,
  level: CompatibilityLevel,
  candidate: ParsedSchema,
  previousOldestFirst: PreviousSchema[],
): CompatibilityResult {
  const result: CompatibilityResult = { compatible: true, messages: [], incompatibilities: [] }
  if (level === 'NONE' || previousOldestFirst.length === 0) return result
  const transitive = level.endsWith('_TRANSITIVE')
  const base = level.replace('_TRANSITIVE', '')
  const targets = transitive
    ? [...previousOldestFirst].reverse()
    : [previousOldestFirst[previousOldestFirst.length - 1]]
  for (const previous of targets) {
    const found: CompatibilityResult['incompatibilities'] = []
    if (previous.parsed.schemaType !== candidate.schemaType) {
      found.push({
        type: 'SCHEMA_TYPE_CHANGED',
        path: '/',
        message: `schema type changed from ${previous.parsed.schemaType} to ${candidate.schemaType}`,
        version: previous.version,
        direction: 'backward',
      })
    } else {
      if (base === 'BACKWARD' || base === 'FULL') {
        for (const i of format.check(candidate, previous.parsed)) {
          found.push({ ...i, version: previous.version, direction: 'backward' })
        }
      }
      if (base === 'FORWARD' || base === 'FULL') {
        for (const i of format.check(previous.parsed, candidate)) {
          found.push({ ...i, version: previous.version, direction: 'forward' })
        }
      }
    }
    if (found.length > 0) {
      result.compatible = false
      result.incompatibilities.push(...found)
      for (const i of found) {
        result.messages.push(
          `{errorType:'${i.type}', description:'${i.message}', path:'${i.path}', direction:'${i.direction}'}`,
        )
      }
      result.messages.push(`{oldSchemaVersion: ${previous.version}}`)
      result.messages.push(`{oldSchema: '${previous.parsed.canonical}'}`)
      result.messages.push(`{compatibility: '${level}'}`)
    }
  }
  return result
}
