// node --import ./test/helpers/import-log.mjs ...: appends the URL of every module resolved through the ESM loader
// to the file named by $IMPORT_LOG (tests check that commands load only what they need).
import { register } from 'node:module'

const hooks = `
import { appendFileSync } from 'node:fs'
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context)
  if (process.env.IMPORT_LOG) appendFileSync(process.env.IMPORT_LOG, r.url + '\\n')
  return r
}
`
register(`data:text/javascript,${encodeURIComponent(hooks)}`)
