/** `tributary/testing`: run topologies without a broker. */
export { TestInputTopic, TestOutputTopic, type TestRecord, type TestRecordInput } from './test-topics.ts'
export { type TestDriverOptions, TopologyTestDriver } from './topology-test-driver.ts'
