/**
 * This machine's ceiling for a single-node log: how fast bytes can be made durable on the data disk
 * (sequential 1 MiB writes + fdatasync) and how fast they can cross loopback TCP between two Node processes.
 * A broker cannot beat the lower of the two on acks=-1 produce.
 */
import { spawn } from 'node:child_process'
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { HOST } from './servers.ts'

const MiB = 1024 * 1024

export interface LimitSample {
  /** fdatasync after every 1 MiB write. */
  diskEveryWriteMiBs: number
  /** fdatasync after every `syncEvery` writes: what group commit of that many in-flight batches can reach. */
  diskGroupedMiBs: number
  tcpMiBs: number
  /** The lower of the grouped disk figure and TCP. */
  limitMiBs: number
}

/** Sequential write + fdatasync loop; returns MiB/s. */
export function measureDisk(dir: string, totalMiB: number, syncEvery: number): number {
  const file = join(dir, `fdatasync-probe-${process.pid}.bin`)
  const buf = Buffer.alloc(MiB, 0x5a)
  const fd = openSync(file, 'w')
  try {
    const start = process.hrtime.bigint()
    for (let i = 1; i <= totalMiB; i++) {
      let off = 0
      while (off < buf.length) off += writeSync(fd, buf, off)
      if (i % syncEvery === 0 || i === totalMiB) fdatasyncSync(fd)
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    return totalMiB / seconds
  } finally {
    closeSync(fd)
    rmSync(file, { force: true })
  }
}

/**
 * Writes `totalMiB` to a scratch file (page cache only, no sync) and deletes it, leaving that much memory on the
 * kernel's free lists, so the next measured write draws recycled pages. On this VM idle page cache is paged out
 * (DAMON) and free memory is handed back to the host (virtio-balloon free page reporting); a write into memory the
 * host has to fault in again costs ~1.9 s of kernel CPU per GiB, 2.5-4x slower than into recycled pages. Whether
 * a measurement got one or the other was luck of ordering; with this step before every measured write (limit
 * probes and every system's produce alike) they all run in the recycled state, as on a machine whose memory is
 * not lent back and forth.
 */
export function warmPageCache(dir: string, totalMiB: number): void {
  if (totalMiB <= 0) return
  const file = join(dir, `warm-${process.pid}.bin`)
  const buf = Buffer.alloc(MiB, 0x77)
  const fd = openSync(file, 'w')
  try {
    for (let i = 0; i < totalMiB; i++) {
      let off = 0
      while (off < buf.length) off += writeSync(fd, buf, off)
    }
  } finally {
    closeSync(fd)
    rmSync(file, { force: true })
  }
}

// The sink is a separate Node process so the figure includes a real process boundary, like client → broker.
const SINK_SOURCE = `
const net = require('node:net')
const srv = net.createServer((s) => {
  let n = 0
  s.on('data', (d) => { n += d.length })
  s.on('end', () => s.end(String(n)))
})
srv.listen(0, '${HOST}', () => process.stdout.write(srv.address().port + '\\n'))
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
`

/** Loopback TCP throughput from this process to a sink process; returns MiB/s. */
export async function measureTcp(totalMiB: number): Promise<number> {
  const child = spawn(process.execPath, ['-e', SINK_SOURCE], { stdio: ['pipe', 'pipe', 'inherit'] })
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
      child.once('exit', (code) => reject(new Error(`tcp sink exited (${code})`)))
    })
    const buf = Buffer.alloc(MiB, 0x5a)
    return await new Promise<number>((resolve, reject) => {
      const s = connect({ host: HOST, port, noDelay: true })
      let start = 0n
      let sent = 0
      let reply = ''
      const pump = () => {
        while (sent < totalMiB) {
          sent++
          if (sent === totalMiB) {
            s.end(buf)
            return
          }
          if (!s.write(buf)) {
            s.once('drain', pump)
            return
          }
        }
      }
      s.once('connect', () => {
        start = process.hrtime.bigint()
        pump()
      })
      s.on('data', (d: Buffer) => {
        reply += d.toString()
      })
      s.once('end', () => {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9
        const received = Number(reply)
        if (received !== totalMiB * MiB) reject(new Error(`tcp sink received ${received} bytes`))
        else resolve(totalMiB / seconds)
      })
      s.once('error', reject)
    })
  } finally {
    child.stdin!.end()
  }
}

export async function measureLimit(
  dir: string,
  diskMiB: number,
  syncEvery: number,
  tcpMiB: number,
  warmMiB = 0,
): Promise<LimitSample> {
  warmPageCache(dir, warmMiB)
  const diskEveryWriteMiBs = measureDisk(dir, diskMiB, 1)
  warmPageCache(dir, warmMiB)
  const diskGroupedMiBs = syncEvery > 1 ? measureDisk(dir, diskMiB, syncEvery) : diskEveryWriteMiBs
  const tcpMiBs = await measureTcp(tcpMiB)
  return { diskEveryWriteMiBs, diskGroupedMiBs, tcpMiBs, limitMiBs: Math.min(diskGroupedMiBs, tcpMiBs) }
}
