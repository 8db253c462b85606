export {
  connectBroker,
  type Broker,
  type BrokerOptions,
  type MessageContext,
  type MessageHandler,
} from './broker.js';
export {
  topologyNames,
  assertTopology,
  assertWebhooksQueue,
  WEBHOOK_BINDINGS,
  delayQueueFor,
  DELAY_LEVELS,
  MAX_PRIORITY,
  type TopologyNames,
} from './topology.js';
export { startOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from './outbox-relay.js';
