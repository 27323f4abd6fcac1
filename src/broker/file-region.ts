/**
 * Fetch responses streamed from the segment files. A partition's records that are too large to hold in memory go
 * into the response as a stand-in Buffer: a view of a shared zero-filled buffer that is never written or sent,
 * registered here with the LogSlice it stands for. The generated codec writes the stand-in's length prefix and keeps
 * the stand-in itself by reference (Writer.raw keeps buffers of LARGE_CHUNK bytes and more by reference, and only
 * slices of at least MIN_REGION_BYTES become stand-ins), so the encoded response is a list of chunks in which the
 * server recognises each stand-in and sends the file's bytes in its place, a piece at a time as the socket drains.
 *
 * Every stand-in's slice is released exactly once: by the server when it has been sent or its connection closed,
 * by the fetch handler when a long poll reads again, and, should all of those be missed, when the stand-in is
 * garbage collected.
 */
import type { Socket } from 'node:net'
import type { LogSlice } from '../log/index.ts'
import { FramePool } from './frame-pool.ts'

/**
 * Smaller slices must be read into memory: the codec copies buffers under 4 KiB (LARGE_CHUNK in
 * src/protocol/primitives.ts) instead of keeping them by reference.
 */
export const MIN_REGION_BYTES = 4096

const regions = new WeakMap<Buffer, LogSlice>()
const unreleased = new FinalizationRegistry<LogSlice>((slice) => slice.release())
/** Zero-filled, never written: its pages are never touched, so it costs address space only. */
let backing = Buffer.alloc(0)

/** A stand-in for `slice` in a response (a Buffer of the slice's length whose bytes are never used). */
export function standIn(slice: LogSlice): Buffer {
  if (slice.length < MIN_REGION_BYTES) throw new RangeError(`log slice of ${slice.length} bytes is too small`)
  if (backing.length < slice.length) backing = Buffer.alloc(Math.max(slice.length, backing.length * 2))
  const view = backing.subarray(0, slice.length)
  regions.set(view, slice)
  unreleased.register(view, slice, slice)
  return view
}

/** The slice a response chunk stands for, if it is a stand-in. */
export function regionOf(chunk: Buffer): LogSlice | undefined {
  return regions.get(chunk)
}

/** Releases the slice of a stand-in (no-op for ordinary buffers). */
export function releaseRegion(chunk: Buffer | null | undefined): void {
  if (!chunk) return
  const slice = regions.get(chunk)
  if (!slice) return
  regions.delete(chunk)
  unreleased.unregister(slice)
  slice.release()
}

/** Records streamed from segment files are read and written in pieces of this size, one read ahead. */
const STREAM_PIECE = 256 * 1024

/** Buffers for the pieces of streamed records, shared by all connections (returned once the socket wrote them). */
const streamPieces = new FramePool(0, STREAM_PIECE, 8 * 1024 * 1024)

/**
 * Writes a slice's bytes to the socket a piece at a time: the next piece is read while the socket sends the
 * current one, and reading waits while the socket holds more than a piece (a client that does not read costs at
 * most two pieces). Resolves once every piece is handed to the socket, or early when the socket is destroyed.
 */
export async function sendRegion(socket: Socket, region: LogSlice): Promise<void> {
  const readPiece = async (position: number) => {
    const n = Math.min(STREAM_PIECE, region.length - position)
    const buf = streamPieces.acquire(n)
    await region.read(buf, 0, n, position)
    return { buf, n }
  }
  let position = 0
  let next: Promise<{ buf: Buffer; n: number }> | null = readPiece(0)
  try {
    while (next) {
      const { buf, n } = await next
      position += n
      next = position < region.length && !socket.destroyed ? readPiece(position) : null
      if (socket.destroyed) return
      socket.write(buf.subarray(0, n), () => streamPieces.release(buf))
      if (socket.writableLength > STREAM_PIECE) await drained(socket)
    }
  } finally {
    // The slice is released after this returns: no read of it may still be running then.
    if (next) await next.catch(() => {})
  }
}

/** Resolves when the socket has written what it holds, or has closed. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done)
      socket.off('close', done)
      resolve()
    }
    socket.on('drain', done)
    socket.on('close', done)
  })
}
