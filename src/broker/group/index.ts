/** Consumer groups: the classic group coordinator and its durable state (time comes from src/common/time.ts). */

export { CONSUMER_PROTOCOL_TYPE, GROUP_STATES, parseSubscription } from './classic-group.ts'
export type {
  CommittedOffsetInfo,
  DescribedGroupInfo,
  GroupCoordinatorOptions,
  GroupDetails,
  GroupState,
  JoinGroupParams,
  JoinGroupResult,
  ListedGroupInfo,
  OffsetCommitParams,
  SyncGroupResult,
} from './group-coordinator.ts'
export { GroupCoordinator } from './group-coordinator.ts'
