import type { CompatibilityLevel, Mode, SchemaType } from './types.ts'

/**
 * Schema creation and modification notifications: one event per state change, published after the change is
 * durable, so teams can react to new contracts.
 */
export type SchemaChangeEvent =
  | {
      type: 'register'
      subject: string
      version: number
      id: number
      schemaType: SchemaType
      timestamp: string
    }
  | {
      type: 'delete'
      subject: string
      version: number
      id: number
      permanent: boolean
      timestamp: string
    }
  | { type: 'config'; subject: string | null; compatibilityLevel: CompatibilityLevel | null; timestamp: string }
  | { type: 'mode'; subject: string | null; mode: Mode | null; timestamp: string }

type Without<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never
export type SchemaChangeInput = Without<SchemaChangeEvent, 'timestamp'>

export interface SchemaChangeSink {
  publish(event: SchemaChangeEvent): Promise<void>
  close(): Promise<void>
}

export class InMemoryChangeSink implements SchemaChangeSink {
  readonly events: SchemaChangeEvent[] = []
  async publish(event: SchemaChangeEvent): Promise<void> {
    this.events.push(event)
  }
  async close(): Promise<void> {}
}
