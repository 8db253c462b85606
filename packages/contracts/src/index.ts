export * from './errors.js';
export * from './jobs.js';
export * from './events.js';
export * from './queue.js';
export * from './websocket.js';
export * from './events-token.js';
export * from './webhooks.js';
export * from './webhook-url-policy.js';
