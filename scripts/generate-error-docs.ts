// Writes docs/errors.md from the declared error list in src/errors.ts (test/errors.test.ts checks it is current).
//   node --import tsx scripts/generate-error-docs.ts
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { errorCodes } from '../src/errors.ts'

export const ERROR_DOCS_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'errors.md')

export function renderErrorDocs(): string {
  const rows = Object.entries(errorCodes).map(([code, description]) => {
    const warning = 'warning' in description && description.warning
    const kind = warning ? 'warning' : description.retriable ? 'yes' : 'no'
    return `| \`${code}\` | ${kind} | ${description.meaning.replaceAll('|', '\\|')} |`
  })
  return [
    '# Error codes',
    '',
    '<!-- Generated from src/errors.ts by `npm run generate:errors`. Do not edit. -->',
    '',
    'Every error Tributary raises on purpose is a `TributaryError` (or a subclass: `LogError`, `SerdeError`,',
    '`RegistryError`, ...) with a stable `code` from this list. Match on the code, not on the message text.',
    '`error.retriable` says whether the same operation, retried unchanged, may succeed. Codes marked _warning_',
    'are the `code` of a `process.emitWarning` warning, not of a thrown error.',
    '',
    '| Code | Retriable | Meaning |',
    '| --- | --- | --- |',
    ...rows,
    '',
  ].join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(ERROR_DOCS_PATH, renderErrorDocs())
  console.log(`wrote ${ERROR_DOCS_PATH}`)
}
