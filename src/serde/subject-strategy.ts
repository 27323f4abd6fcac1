/**
 * How a serializer chooses the subject a schema is registered under, as Confluent's serializers do:
 * TopicName (`orders-value`), RecordName (`com.acme.Order`), TopicRecordName (`orders-com.acme.Order`).
 */
export type SubjectNameStrategy = (topic: string, isKey: boolean, recordName: string | undefined) => string

export const topicNameStrategy: SubjectNameStrategy = (topic, isKey) => `${topic}-${isKey ? 'key' : 'value'}`

export const recordNameStrategy: SubjectNameStrategy = (_topic, _isKey, recordName) => {
  if (!recordName)
    throw new Error('RecordNameStrategy needs a named record type (Avro record, JSON title, Protobuf message)')
  return recordName
}

export const topicRecordNameStrategy: SubjectNameStrategy = (topic, isKey, recordName) =>
  `${topic}-${recordNameStrategy(topic, isKey, recordName)}`

export const SubjectNameStrategies = {
  TopicName: topicNameStrategy,
  RecordName: recordNameStrategy,
  TopicRecordName: topicRecordNameStrategy,
} as const
