/** `tributary cluster describe`: the cluster id, its controller and brokers (Metadata), through src/client. */
import type { Command } from 'commander'
import { addConnectionOptions, type ConnectionFlags, resolveConnection } from '../connection.ts'
import type { CliContext } from '../context.ts'
import { outputFormat, plural, printListing, toJson } from '../output.ts'

export function registerClusterCommands(program: Command, ctx: CliContext): void {
  const cluster = program.command('cluster').description('the cluster: id, controller, brokers')
  addConnectionOptions(cluster.command('describe').description('cluster id, controller and brokers')).action(
    async (flags: ConnectionFlags) => {
      const conn = resolveConnection(flags, ctx)
      const format = outputFormat(flags, ctx)
      const { withAdmin } = await import('../kafka.ts')
      const md = await withAdmin(conn, async (admin) => {
        const topics = await admin.listTopics({ includeInternals: true })
        const m = await admin.metadata({ topics: [], forceUpdate: true })
        return { id: m.id, controllerId: m.controllerId, brokers: [...m.brokers], topics: topics.length }
      })
      const brokers = md.brokers
        .map(([nodeId, b]) => ({ nodeId, host: b.host, port: b.port, rack: b.rack ?? null }))
        .sort((a, b) => a.nodeId - b.nodeId)
      if (format === 'json') {
        ctx.out(`${toJson({ clusterId: md.id, controllerId: md.controllerId, brokers, topics: md.topics })}\n`)
        return
      }
      ctx.out(
        `cluster ${md.id}  controller ${md.controllerId}  ${plural(brokers.length, 'broker')}  ${plural(md.topics, 'topic')}\n`,
      )
      printListing(ctx, 'table', {
        columns: ['BROKER', 'HOST', 'PORT', 'RACK', 'CONTROLLER'],
        rows: brokers.map((b) => [b.nodeId, b.host, b.port, b.rack, b.nodeId === md.controllerId ? 'yes' : '']),
        json: null,
        empty: 'no brokers',
      })
    },
  )
}
