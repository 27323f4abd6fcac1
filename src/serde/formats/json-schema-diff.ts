import type { Incompatibility } from './format.ts'
import { COMPATIBLE_CHANGES, type Difference, describeDifference } from './json-schema-changes.ts'
import type { NodeOf, SchemaNode } from './json-schema-model.ts'

/**
 * Confluent's JSON Schema compatibility rules (its `SchemaDiff`, under the default STRICT policy), applied to the
 * schema model of json-schema-model.ts. `compare(original, update)` lists every difference; a change is
 * compatible when all its differences are in COMPATIBLE_CHANGES (json-schema-changes.ts, with their wording).
 * Written from the rules, documented in docs/registry/schema-evolution.md.
 */

export type { Difference }

const compatible = (diffs: Difference[]) => diffs.every((d) => COMPATIBLE_CHANGES.has(d.type))

type Pair = `${number}:${number}`

/** Shared by one whole comparison: memo of node pairs, the pairs on the stack, and what earlier passes learned. */
interface Shared {
  memo: Map<Pair, Difference[]>
  inProgress: Set<Pair>
  seed: Map<Pair, Difference[]>
  optimistic: boolean
  ids: WeakMap<SchemaNode, number>
  next: number
}

class Ctx {
  readonly diffs: Difference[] = []
  constructor(
    readonly shared: Shared,
    readonly path: string[] = [],
  ) {}

  sub(): Ctx {
    return new Ctx(this.shared, [...this.path])
  }

  add(type: string, ...more: string[]): void {
    this.diffs.push({ type, path: pathText([...this.path, ...more]) })
  }

  in<T>(segment: string, body: () => T): T {
    this.path.push(segment)
    try {
      return body()
    } finally {
      this.path.pop()
    }
  }

  compatible(): boolean {
    return compatible(this.diffs)
  }
}

const pathText = (parts: string[]) => `#/${parts.join('/')}`

function idOf(shared: Shared, n: SchemaNode): number {
  let id = shared.ids.get(n)
  if (id === undefined) {
    id = shared.next++
    shared.ids.set(n, id)
  }
  return id
}

/** Every difference between `original` (the older schema) and `update`, as Confluent's SchemaDiff lists them. */
export function diffSchemas(original: SchemaNode, update: SchemaNode): Difference[] {
  // Recursive schemas: a pair met again while being compared is assumed compatible; passes repeat with the pairs
  // found incompatible fed back, until that assumption no longer changes the answer.
  let seed = new Map<Pair, Difference[]>()
  for (let pass = 0; pass < 64; pass++) {
    const shared: Shared = {
      memo: new Map(),
      inProgress: new Set(),
      seed,
      optimistic: false,
      ids: new WeakMap(),
      next: 0,
    }
    const ctx = new Ctx(shared)
    compare(ctx, original, update)
    const incompatible = new Map<Pair, Difference[]>()
    for (const [k, v] of shared.memo) if (!compatible(v)) incompatible.set(k, v)
    const same = incompatible.size === seed.size && [...incompatible.keys()].every((k) => seed.has(k))
    if (!shared.optimistic || same) return ctx.diffs
    seed = incompatible
  }
  throw new Error('JSON Schema comparison did not settle')
}

/** The incompatible differences, as the registry reports them. */
export function incompatibilities(original: SchemaNode, update: SchemaNode): Incompatibility[] {
  return diffSchemas(original, update)
    .filter((d) => !COMPATIBLE_CHANGES.has(d.type))
    .map((d) => ({ type: d.type, path: d.path, message: describeDifference(d) }))
}

function normalize(n: SchemaNode): SchemaNode {
  if (n.kind === 'ref') return n.target() ?? n
  return n
}

function compare(ctx: Ctx, originalIn: SchemaNode | undefined, updateIn: SchemaNode | undefined): void {
  if (!originalIn && !updateIn) return
  if (!originalIn) {
    ctx.add('SCHEMA_ADDED')
    return
  }
  if (!updateIn) {
    ctx.add('SCHEMA_REMOVED')
    return
  }
  const original = normalize(originalIn)
  const update = normalize(updateIn)
  const { shared } = ctx
  const key: Pair = `${idOf(shared, original)}:${idOf(shared, update)}`
  let diffs = shared.memo.get(key)
  if (!diffs) {
    if (shared.inProgress.has(key)) {
      diffs = shared.seed.get(key)
      if (!diffs) {
        shared.optimistic = true
        return
      }
    } else {
      shared.inProgress.add(key)
      try {
        const fresh = new Ctx(shared)
        compareTypes(fresh, original, update)
        diffs = fresh.diffs
        shared.memo.set(key, diffs)
      } finally {
        shared.inProgress.delete(key)
      }
    }
  }
  const prefix = ctx.path
  for (const d of diffs) {
    const rel = d.path.slice(2)
    ctx.diffs.push({ type: d.type, path: pathText(rel ? [...prefix, rel] : prefix) })
  }
}

const isEmptySchema = (n: SchemaNode) => n.kind === 'empty' || n.kind === 'true'

function compareTypes(ctx: Ctx, original: SchemaNode, update: SchemaNode): void {
  if (original.kind !== 'combined' && update.kind === 'combined') {
    if (update.subschemas.length === 1) {
      const sub = ctx.sub()
      compare(sub, original, update.subschemas[0])
      if (sub.compatible()) {
        ctx.diffs.push(...sub.diffs)
        return
      }
    } else if (update.criterion !== 'allOf') {
      for (const branch of update.subschemas) {
        const sub = ctx.sub()
        compare(sub, original, branch)
        if (sub.compatible()) {
          ctx.diffs.push(...sub.diffs)
          ctx.add('SUM_TYPE_EXTENDED')
          return
        }
      }
    }
  } else if (original.kind === 'combined' && update.kind !== 'combined') {
    if (original.subschemas.length === 1) {
      const sub = ctx.sub()
      compare(sub, original.subschemas[0], update)
      if (sub.compatible()) {
        ctx.diffs.push(...sub.diffs)
        return
      }
    } else if (original.criterion === 'allOf') {
      for (const part of original.subschemas) {
        const sub = ctx.sub()
        compare(sub, part, update)
        if (sub.compatible()) {
          ctx.diffs.push(...sub.diffs)
          ctx.add('PRODUCT_TYPE_NARROWED')
          return
        }
      }
    }
  }

  if (original.kind !== update.kind) {
    if (original.kind === 'false' || isEmptySchema(update)) return
    if (original.connectType === 'bytes' && update.connectType === 'bytes') return
    ctx.add('TYPE_CHANGED')
    return
  }

  switch (original.kind) {
    case 'string':
      compareString(ctx, original, update as NodeOf<'string'>)
      return
    case 'number':
      compareNumber(ctx, original, update as NodeOf<'number'>)
      return
    case 'const':
      if (original.value !== (update as NodeOf<'const'>).value) ctx.add('ENUM_ARRAY_CHANGED', 'const')
      return
    case 'enum':
      compareEnum(ctx, original, update as NodeOf<'enum'>)
      return
    case 'combined':
      compareCombined(ctx, original, update as NodeOf<'combined'>)
      return
    case 'not':
      ctx.in('not', () => {
        // What `not` excludes may shrink but not grow: the excluded schemas are compared the other way round.
        const sub = ctx.sub()
        compare(sub, (update as NodeOf<'not'>).mustNotMatch, original.mustNotMatch)
        ctx.add(sub.compatible() ? 'NOT_TYPE_NARROWED' : 'NOT_TYPE_EXTENDED')
      })
      return
    case 'object':
      compareObject(ctx, original, update as NodeOf<'object'>)
      return
    case 'array':
      compareArray(ctx, original, update as NodeOf<'array'>)
      return
    case 'ref':
      // A reference that could not be resolved on either side: only the same reference is the same schema.
      if (original.ref !== (update as NodeOf<'ref'>).ref) ctx.add('TYPE_CHANGED')
      return
    default:
      return
  }
}

/** A numeric limit added, removed, increased or decreased (whether that loosens it depends on the keyword). */
function limit(ctx: Ctx, keyword: string, name: string, o: number | undefined, u: number | undefined): void {
  if (o === u) return
  if (o === undefined) {
    ctx.add(`${name}_ADDED`, keyword)
    return
  }
  if (u === undefined) {
    ctx.add(`${name}_REMOVED`, keyword)
    return
  }
  ctx.add(`${name}_${o < u ? 'INCREASED' : 'DECREASED'}`, keyword)
}

function compareString(ctx: Ctx, o: NodeOf<'string'>, u: NodeOf<'string'>): void {
  limit(ctx, 'maxLength', 'MAX_LENGTH', o.maxLength, u.maxLength)
  limit(ctx, 'minLength', 'MIN_LENGTH', o.minLength, u.minLength)
  if (o.pattern === undefined && u.pattern !== undefined) ctx.add('PATTERN_ADDED', 'pattern')
  else if (o.pattern !== undefined && u.pattern === undefined) ctx.add('PATTERN_REMOVED', 'pattern')
  else if (o.pattern !== u.pattern) ctx.add('PATTERN_CHANGED', 'pattern')
}

/** A decimal as an integer and a power of ten, so that multipleOf divisibility is exact. */
function decimal(n: number): { units: bigint; scale: number } {
  const [mantissa, exp = '0'] = n.toExponential().split('e')
  const [whole, frac = ''] = mantissa.replace('-', '').split('.')
  const digits = BigInt(`${whole}${frac}`) * (n < 0 ? -1n : 1n)
  const scale = frac.length - Number(exp)
  return scale >= 0 ? { units: digits, scale } : { units: digits * 10n ** BigInt(-scale), scale: 0 }
}

function divides(divisor: number, value: number): boolean {
  const a = decimal(value)
  const b = decimal(divisor)
  const scale = Math.max(a.scale, b.scale)
  const av = a.units * 10n ** BigInt(scale - a.scale)
  const bv = b.units * 10n ** BigInt(scale - b.scale)
  return bv !== 0n && av % bv === 0n
}

function compareNumber(ctx: Ctx, o: NodeOf<'number'>, u: NodeOf<'number'>): void {
  limit(ctx, 'maximum', 'MAXIMUM', o.maximum, u.maximum)
  limit(ctx, 'minimum', 'MINIMUM', o.minimum, u.minimum)
  limit(ctx, 'exclusiveMaximum', 'EXCLUSIVE_MAXIMUM', o.exclusiveMaximum, u.exclusiveMaximum)
  limit(ctx, 'exclusiveMinimum', 'EXCLUSIVE_MINIMUM', o.exclusiveMinimum, u.exclusiveMinimum)
  const om = o.multipleOf
  const um = u.multipleOf
  if (om !== um) {
    if (om === undefined) ctx.add('MULTIPLE_OF_ADDED', 'multipleOf')
    else if (um === undefined) ctx.add('MULTIPLE_OF_REMOVED', 'multipleOf')
    else if (divides(om, um)) ctx.add('MULTIPLE_OF_EXPANDED', 'multipleOf')
    else if (divides(um, om)) ctx.add('MULTIPLE_OF_REDUCED', 'multipleOf')
    else ctx.add('MULTIPLE_OF_CHANGED', 'multipleOf')
  }
  if (o.integer !== u.integer) ctx.add(o.integer ? 'TYPE_EXTENDED' : 'TYPE_NARROWED')
}

function compareEnum(ctx: Ctx, o: NodeOf<'enum'>, u: NodeOf<'enum'>): void {
  const covers = (a: Set<string>, b: Set<string>) => [...b].every((v) => a.has(v))
  if (o.values.size === u.values.size && covers(o.values, u.values)) return
  if (covers(u.values, o.values)) ctx.add('ENUM_ARRAY_EXTENDED', 'enum')
  else if (covers(o.values, u.values)) ctx.add('ENUM_ARRAY_NARROWED', 'enum')
  else ctx.add('ENUM_ARRAY_CHANGED', 'enum')
}

function compareCombined(ctx: Ctx, o: NodeOf<'combined'>, u: NodeOf<'combined'>): void {
  const single = (n: NodeOf<'combined'>) => n.subschemas.length === 1
  if (o.criterion !== u.criterion) {
    const extended =
      u.criterion === 'anyOf' ||
      (single(o) && single(u)) ||
      (single(o) && u.criterion === 'oneOf') ||
      (single(u) && o.criterion === 'allOf')
    if (!extended) {
      ctx.add('COMBINED_TYPE_CHANGED')
      return
    }
    ctx.add('COMBINED_TYPE_EXTENDED')
  }
  // Equal branches count once.
  const dedupe = (subs: SchemaNode[]) => [...new Map(subs.map((s) => [s.key, s])).values()]
  const os = dedupe(o.subschemas)
  const us = dedupe(u.subschemas)
  if (os.length < us.length) ctx.add(u.criterion === 'allOf' ? 'PRODUCT_TYPE_EXTENDED' : 'SUM_TYPE_EXTENDED')
  else if (os.length > us.length) ctx.add(o.criterion === 'allOf' ? 'PRODUCT_TYPE_NARROWED' : 'SUM_TYPE_NARROWED')

  // Which original branch can become which update branch; then the largest one-to-one matching.
  const edges: (Difference[] | undefined)[][] = os.map((ob, i) =>
    ctx.in(`${o.criterion}/${i}`, () =>
      us.map((ub) => {
        const sub = ctx.sub()
        compare(sub, ob, ub)
        return sub.compatible() ? sub.diffs : undefined
      }),
    ),
  )
  const matchOfUpdate = new Array<number>(us.length).fill(-1)
  const augment = (i: number, seen: boolean[]): boolean => {
    for (let j = 0; j < us.length; j++) {
      if (!edges[i][j] || seen[j]) continue
      seen[j] = true
      if (matchOfUpdate[j] < 0 || augment(matchOfUpdate[j], seen)) {
        matchOfUpdate[j] = i
        return true
      }
    }
    return false
  }
  let matched = 0
  for (let i = 0; i < os.length; i++) if (augment(i, new Array(us.length).fill(false))) matched++
  for (let j = 0; j < us.length; j++) if (matchOfUpdate[j] >= 0) ctx.diffs.push(...(edges[matchOfUpdate[j]][j] ?? []))
  if (matched < Math.min(os.length, us.length)) ctx.add('COMBINED_TYPE_SUBSCHEMAS_CHANGED')
}

function regexFor(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern, 'u')
  } catch {
    try {
      return new RegExp(pattern)
    } catch {
      return undefined
    }
  }
}

function isOpenObject(n: NodeOf<'object'>): boolean {
  if (!n.additionalProperties || n.additionalSchema || n.patternProperties.length > 0) return false
  return !n.unevaluated || isEmptySchema(n.unevaluated)
}

function partialObjectSchema(n: NodeOf<'object'>, property: string): SchemaNode | undefined {
  for (const [pattern, schema] of n.patternProperties) if (regexFor(pattern)?.test(property)) return schema
  if (n.additionalSchema) return n.additionalSchema
  if (n.additionalProperties && n.unevaluated && n.unevaluated.kind !== 'false' && !isEmptySchema(n.unevaluated)) {
    return n.unevaluated
  }
  return undefined
}

function compareObject(ctx: Ctx, o: NodeOf<'object'>, u: NodeOf<'object'>): void {
  ctx.in('required', () => {
    for (const name of o.properties.keys()) {
      if (!u.properties.has(name)) continue
      const was = o.required.has(name)
      const is = u.required.has(name)
      if (was && !is) ctx.add('REQUIRED_ATTRIBUTE_REMOVED', name)
      else if (!was && is) {
        ctx.add(
          u.properties.get(name)!.hasDefault ? 'REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED' : 'REQUIRED_ATTRIBUTE_ADDED',
          name,
        )
      }
    }
  })
  ctx.in('properties', () => {
    for (const name of new Set([...o.properties.keys(), ...u.properties.keys()])) {
      ctx.in(name, () => {
        const os = o.properties.get(name)
        const us = u.properties.get(name)
        if (!us) {
          // Only the update's content model decides whether a property may go.
          if (isOpenObject(u)) {
            ctx.add('PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL')
            return
          }
          const cover = partialObjectSchema(u, name)
          if (cover) {
            const sub = ctx.sub()
            compare(sub, os, cover)
            ctx.diffs.push(...sub.diffs)
            ctx.add(
              sub.compatible()
                ? 'PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL'
                : 'PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL',
            )
            return
          }
          ctx.add(
            os?.kind === 'false'
              ? 'PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL'
              : 'PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL',
          )
          return
        }
        if (!os) {
          // Only the original's content model decides whether a property may be added.
          if (isOpenObject(o)) {
            if (isEmptySchema(us)) {
              ctx.add('PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL')
              return
            }
            if (u.required.has(name)) {
              ctx.add(
                us.hasDefault
                  ? 'REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL'
                  : 'REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL',
              )
              return
            }
            ctx.add('OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL')
            return
          }
          const cover = partialObjectSchema(o, name)
          if (cover) {
            const sub = ctx.sub()
            compare(sub, cover, us)
            ctx.diffs.push(...sub.diffs)
            ctx.add(
              sub.compatible()
                ? 'PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL'
                : 'PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL',
            )
          }
          if (u.required.has(name)) {
            ctx.add(
              us.hasDefault
                ? 'REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL'
                : 'REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL',
            )
            return
          }
          ctx.add('OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL')
          return
        }
        compare(ctx, os, us)
      })
    }
  })
  ctx.in('dependencies', () => {
    for (const name of new Set([...o.propertyDependencies.keys(), ...u.propertyDependencies.keys()])) {
      const od = o.propertyDependencies.get(name)
      const ud = u.propertyDependencies.get(name)
      if (!ud) ctx.add('DEPENDENCY_ARRAY_REMOVED', name)
      else if (!od) ctx.add('DEPENDENCY_ARRAY_ADDED', name)
      else {
        const covers = (a: Set<string>, b: Set<string>) => [...b].every((v) => a.has(v))
        if (od.size === ud.size && covers(od, ud)) continue
        if (covers(ud, od)) ctx.add('DEPENDENCY_ARRAY_EXTENDED', name)
        else if (covers(od, ud)) ctx.add('DEPENDENCY_ARRAY_NARROWED', name)
        else ctx.add('DEPENDENCY_ARRAY_CHANGED', name)
      }
    }
    for (const name of new Set([...o.schemaDependencies.keys(), ...u.schemaDependencies.keys()])) {
      const od = o.schemaDependencies.get(name)
      const ud = u.schemaDependencies.get(name)
      if (!ud) ctx.add('DEPENDENCY_SCHEMA_REMOVED', name)
      else if (!od) ctx.add('DEPENDENCY_SCHEMA_ADDED', name)
      else ctx.in(name, () => compare(ctx, od, ud))
    }
  })
  ctx.in('additionalProperties', () => {
    if (o.additionalProperties !== u.additionalProperties) {
      ctx.add(u.additionalProperties ? 'ADDITIONAL_PROPERTIES_ADDED' : 'ADDITIONAL_PROPERTIES_REMOVED')
    } else if (!o.additionalSchema && u.additionalSchema) ctx.add('ADDITIONAL_PROPERTIES_NARROWED')
    else if (o.additionalSchema && !u.additionalSchema) ctx.add('ADDITIONAL_PROPERTIES_EXTENDED')
    else compare(ctx, o.additionalSchema, u.additionalSchema)
  })
  unevaluated(ctx, 'unevaluatedProperties', 'UNEVALUATED_PROPERTIES', o.unevaluated, u.unevaluated)
  limit(ctx, 'maxProperties', 'MAX_PROPERTIES', o.maxProperties, u.maxProperties)
  limit(ctx, 'minProperties', 'MIN_PROPERTIES', o.minProperties, u.minProperties)
}

function unevaluated(ctx: Ctx, keyword: string, name: string, o?: SchemaNode, u?: SchemaNode): void {
  if (!o && !u) return
  ctx.in(keyword, () => {
    if (!o) ctx.add(u!.kind === 'false' ? `${name}_REMOVED` : `${name}_NARROWED`)
    else if (!u) ctx.add(o.kind === 'false' ? `${name}_ADDED` : `${name}_EXTENDED`)
    else if (o.kind === 'false' && u.kind !== 'false') ctx.add(`${name}_ADDED`)
    else if (o.kind !== 'false' && u.kind === 'false') ctx.add(`${name}_REMOVED`)
    else if (isEmptySchema(o) && !isEmptySchema(u)) ctx.add(`${name}_NARROWED`)
    else if (!isEmptySchema(o) && isEmptySchema(u)) ctx.add(`${name}_EXTENDED`)
    else compare(ctx, o, u)
  })
}

function isOpenArray(n: NodeOf<'array'>): boolean {
  if (!n.additionalItems || n.additionalSchema) return false
  return !n.unevaluated || isEmptySchema(n.unevaluated)
}

function partialArraySchema(n: NodeOf<'array'>): SchemaNode | undefined {
  if (n.additionalSchema) return n.additionalSchema
  if (n.additionalItems && n.unevaluated && n.unevaluated.kind !== 'false' && !isEmptySchema(n.unevaluated)) {
    return n.unevaluated
  }
  return undefined
}

function compareArray(ctx: Ctx, o: NodeOf<'array'>, u: NodeOf<'array'>): void {
  ctx.in('items', () => compare(ctx, o.allItems, u.allItems))
  const ot = o.items ?? []
  const ut = u.items ?? []
  const common = Math.min(ot.length, ut.length)
  for (let i = 0; i < common; i++) ctx.in(`items/${i}`, () => compare(ctx, ot[i], ut[i]))
  for (let i = common; i < ot.length; i++) {
    ctx.in(`items/${i}`, () => {
      if (isOpenArray(u)) {
        ctx.add('ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL')
        return
      }
      const cover = partialArraySchema(u)
      if (cover) {
        const sub = ctx.sub()
        compare(sub, ot[i], cover)
        ctx.diffs.push(...sub.diffs)
        ctx.add(
          sub.compatible()
            ? 'ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL'
            : 'ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL',
        )
        return
      }
      ctx.add(
        ot[i].kind === 'false'
          ? 'ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL'
          : 'ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL',
      )
    })
  }
  for (let i = common; i < ut.length; i++) {
    ctx.in(`items/${i}`, () => {
      if (isOpenArray(o)) {
        ctx.add(
          isEmptySchema(ut[i])
            ? 'ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL'
            : 'ITEM_ADDED_TO_OPEN_CONTENT_MODEL',
        )
        return
      }
      const cover = partialArraySchema(o)
      if (cover) {
        const sub = ctx.sub()
        compare(sub, cover, ut[i])
        ctx.diffs.push(...sub.diffs)
        ctx.add(
          sub.compatible()
            ? 'ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL'
            : 'ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL',
        )
        return
      }
      ctx.add('ITEM_ADDED_TO_CLOSED_CONTENT_MODEL')
    })
  }
  ctx.in('additionalItems', () => {
    if (o.additionalItems !== u.additionalItems) {
      ctx.add(o.additionalItems ? 'ADDITIONAL_ITEMS_REMOVED' : 'ADDITIONAL_ITEMS_ADDED')
    } else if (!o.additionalSchema && u.additionalSchema) ctx.add('ADDITIONAL_ITEMS_NARROWED')
    else if (o.additionalSchema && !u.additionalSchema) ctx.add('ADDITIONAL_ITEMS_EXTENDED')
    else compare(ctx, o.additionalSchema, u.additionalSchema)
  })
  unevaluated(ctx, 'unevaluatedItems', 'UNEVALUATED_ITEMS', o.unevaluated, u.unevaluated)
  limit(ctx, 'maxItems', 'MAX_ITEMS', o.maxItems, u.maxItems)
  limit(ctx, 'minItems', 'MIN_ITEMS', o.minItems, u.minItems)
  if (o.uniqueItems !== u.uniqueItems)
    ctx.add(o.uniqueItems ? 'UNIQUE_ITEMS_REMOVED' : 'UNIQUE_ITEMS_ADDED', 'uniqueItems')
  limit(ctx, 'maxContains', 'MAX_CONTAINS', o.maxContains, u.maxContains)
  limit(ctx, 'minContains', 'MIN_CONTAINS', o.minContains, u.minContains)
}
