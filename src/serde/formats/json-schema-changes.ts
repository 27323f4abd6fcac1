/**
 * The differences Confluent's JSON Schema `SchemaDiff` names (under its default STRICT policy): which of them are
 * compatible, and how each is described when the registry reports it. json-schema-diff.ts finds them.
 */

export const COMPATIBLE_CHANGES: ReadonlySet<string> = new Set([
  'ID_CHANGED',
  'DESCRIPTION_CHANGED',
  'TITLE_CHANGED',
  'DEFAULT_CHANGED',
  'SCHEMA_REMOVED',
  'TYPE_EXTENDED',
  'MAX_LENGTH_INCREASED',
  'MAX_LENGTH_REMOVED',
  'MIN_LENGTH_DECREASED',
  'MIN_LENGTH_REMOVED',
  'PATTERN_REMOVED',
  'MAXIMUM_INCREASED',
  'MAXIMUM_REMOVED',
  'MINIMUM_DECREASED',
  'MINIMUM_REMOVED',
  'EXCLUSIVE_MAXIMUM_INCREASED',
  'EXCLUSIVE_MAXIMUM_REMOVED',
  'EXCLUSIVE_MINIMUM_DECREASED',
  'EXCLUSIVE_MINIMUM_REMOVED',
  'MULTIPLE_OF_REDUCED',
  'MULTIPLE_OF_REMOVED',
  'REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED',
  'REQUIRED_ATTRIBUTE_REMOVED',
  'DEPENDENCY_ARRAY_NARROWED',
  'DEPENDENCY_ARRAY_REMOVED',
  'DEPENDENCY_SCHEMA_REMOVED',
  'MAX_PROPERTIES_INCREASED',
  'MAX_PROPERTIES_REMOVED',
  'MIN_PROPERTIES_DECREASED',
  'MIN_PROPERTIES_REMOVED',
  'ADDITIONAL_PROPERTIES_ADDED',
  'ADDITIONAL_PROPERTIES_EXTENDED',
  'UNEVALUATED_PROPERTIES_ADDED',
  'UNEVALUATED_PROPERTIES_EXTENDED',
  'PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL',
  'REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL',
  'OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL',
  'PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL',
  'PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL',
  'PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL',
  'PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL',
  'MAX_ITEMS_INCREASED',
  'MAX_ITEMS_REMOVED',
  'MIN_ITEMS_DECREASED',
  'MIN_ITEMS_REMOVED',
  'MAX_CONTAINS_INCREASED',
  'MAX_CONTAINS_REMOVED',
  'MIN_CONTAINS_DECREASED',
  'MIN_CONTAINS_REMOVED',
  'UNIQUE_ITEMS_REMOVED',
  'ADDITIONAL_ITEMS_ADDED',
  'ADDITIONAL_ITEMS_EXTENDED',
  'UNEVALUATED_ITEMS_ADDED',
  'UNEVALUATED_ITEMS_EXTENDED',
  'ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL',
  'ITEM_ADDED_TO_CLOSED_CONTENT_MODEL',
  'ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL',
  'ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL',
  'ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL',
  'ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL',
  'ENUM_ARRAY_EXTENDED',
  'COMBINED_TYPE_EXTENDED',
  'PRODUCT_TYPE_NARROWED',
  'SUM_TYPE_EXTENDED',
  'NOT_TYPE_NARROWED',
])

export interface Difference {
  type: string
  path: string
}

/** One line per kind of difference, in the words of the change (old schema → new schema). */
export function describeDifference(d: Difference): string {
  const at = `at '${d.path}'`
  const t = d.type
  if (t.endsWith('_ADDED') && /^(MAX|MIN|EXCLUSIVE|MULTIPLE|PATTERN|UNIQUE|DEPENDENCY)/.test(t)) {
    return `a '${keywordOf(d.path)}' constraint was added ${at}`
  }
  if (/(DECREASED|INCREASED|EXPANDED)$/.test(t)) return `the '${keywordOf(d.path)}' constraint was tightened ${at}`
  switch (t) {
    case 'TYPE_CHANGED':
      return `the type changed ${at}`
    case 'TYPE_NARROWED':
      return `the type was narrowed ${at} (number to integer)`
    case 'SCHEMA_ADDED':
      return `a schema was added ${at} where any value was accepted`
    case 'PATTERN_CHANGED':
    case 'MULTIPLE_OF_CHANGED':
    case 'DEPENDENCY_ARRAY_CHANGED':
      return `the '${keywordOf(d.path)}' value changed ${at}`
    case 'ENUM_ARRAY_NARROWED':
    case 'ENUM_ARRAY_CHANGED':
      return `values allowed ${at} were removed or changed`
    case 'REQUIRED_ATTRIBUTE_ADDED':
      return `property '${keywordOf(d.path)}' became required without a default`
    case 'ADDITIONAL_PROPERTIES_REMOVED':
    case 'ADDITIONAL_ITEMS_REMOVED':
    case 'UNEVALUATED_PROPERTIES_REMOVED':
    case 'UNEVALUATED_ITEMS_REMOVED':
      return `additional content is no longer allowed ${at}`
    case 'ADDITIONAL_PROPERTIES_NARROWED':
    case 'ADDITIONAL_ITEMS_NARROWED':
    case 'UNEVALUATED_PROPERTIES_NARROWED':
    case 'UNEVALUATED_ITEMS_NARROWED':
      return `additional content ${at} is now restricted by a schema`
    case 'REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL':
    case 'REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL':
    case 'OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL':
    case 'ITEM_ADDED_TO_OPEN_CONTENT_MODEL':
      return `a property or item was added ${at} to an open content model, where the old schema accepted any value`
    case 'REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL':
      return `a required property was added ${at} to a closed or partially open content model`
    case 'PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL':
    case 'ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL':
      return `a property or item was removed ${at} from a closed content model`
    case 'PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL':
    case 'ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL':
      return `a property or item was added ${at} that the old partially open content model did not cover`
    case 'PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL':
    case 'ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL':
      return `a property or item was removed ${at} and the new partially open content model does not cover it`
    case 'COMBINED_TYPE_CHANGED':
      return `the combination keyword changed ${at} (allOf/anyOf/oneOf)`
    case 'COMBINED_TYPE_SUBSCHEMAS_CHANGED':
      return `the subschemas ${at} no longer match the old ones one to one`
    case 'PRODUCT_TYPE_EXTENDED':
      return `'allOf' ${at} gained subschemas`
    case 'SUM_TYPE_NARROWED':
      return `'anyOf'/'oneOf' ${at} lost subschemas`
    case 'NOT_TYPE_EXTENDED':
      return `'not' ${at} now excludes values it accepted before`
    default:
      return `${t.toLowerCase().replace(/_/g, ' ')} ${at}`
  }
}

const keywordOf = (path: string) => path.slice(path.lastIndexOf('/') + 1)
