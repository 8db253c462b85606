// Messages between the fan-out benchmark's processes (over Node's IPC channel).

/** orchestrator → client process */
export type ClientCommand =
  { cmd: 'count' } | { cmd: 'report' } | { cmd: 'reset' } | { cmd: 'close' };

/** client process → orchestrator */
export type ClientMessage =
  | { kind: 'opened'; open: number; failed: number }
  | { kind: 'count'; received: number }
  | {
      kind: 'report';
      received: number;
      /** event → client latency of every received message, ms */
      latencies: number[];
      firstRecvMs: number;
      lastRecvMs: number;
      closed: number;
    };

/** orchestrator → baseline server */
export type BaselineCommand = { cmd: 'broadcast'; data: string } | { cmd: 'size' };
/** baseline server → orchestrator */
export type BaselineMessage = { kind: 'listening'; port: number } | { kind: 'size'; size: number };

/** Wall-clock ms with sub-ms resolution, comparable across processes on one machine. */
export const nowMs = () => performance.timeOrigin + performance.now();

/** Progress events carry their send time in `stage` (`t:<ms>`), baseline frames the same. */
export const stamp = (ms: number) => `t:${ms.toFixed(3)}`;
