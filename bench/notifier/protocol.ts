// Messages between the notifier suite's processes (over Node's IPC channel), and the
// time stamp both servers' frames carry.

/** Where a client process connects: the same bytes whichever server listens there. */
export interface Target {
  port: number;
  /** Path and query of the upgrade request (`/v1/events?jobId=…&after=…&token=…`). */
  path: string;
  count: number;
  /** Source address, so one process's sockets use their own ephemeral port range. */
  localAddress?: string;
  /** Handshakes in flight at once. */
  window: number;
}

/** orchestrator → client process */
export type ClientCommand =
  | { cmd: 'open'; target: Target }
  | { cmd: 'count' }
  | { cmd: 'report' }
  | { cmd: 'reset' }
  | { cmd: 'close' };

/** client process → orchestrator */
export type ClientMessage =
  | { kind: 'ready' }
  | { kind: 'opened'; open: number; failed: number }
  | { kind: 'count'; received: number; closed: number }
  | {
      kind: 'report';
      /** now − the stamp in the frame, ms, for every stamped frame */
      latencies: number[];
      firstRecvMs: number;
      lastRecvMs: number;
    };

/** orchestrator → bare server */
export type BareCommand =
  /** Each of `frames` to every subscriber of `jobId`, in order. */
  { cmd: 'broadcast'; jobId: string; frames: string[] } | { cmd: 'size' };

/** bare server → orchestrator */
export type BareMessage = { kind: 'listening'; port: number } | { kind: 'size'; size: number };

/** Wall-clock ms with sub-ms resolution, comparable across processes on one machine. */
export const nowMs = () => performance.timeOrigin + performance.now();

/** Progress events carry their send time in `stage` (`t:<ms>`); the bare frames the same. */
export const stamp = (ms: number) => `t:${ms.toFixed(3)}`;
export const STAMP_PREFIX = '"stage":"t:';
