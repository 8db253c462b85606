import {
  JOB_DELETED_CHANNEL,
  listenForNotifications,
  type NotificationListener,
} from '@transcribe/db';
import type { Notifier } from './app.js';

/**
 * Follows Postgres's announcements of deleted jobs (migration 0013) on a connection of its
 * own: each drops the job's kept head and ends its open streams, and every (re)start of
 * the feed clears the kept heads, since what was announced meanwhile was missed.
 */
export function followJobDeletions(
  notifier: Notifier,
  databaseUrl: string,
  options: { onListening?: () => void; onError?: (error: unknown) => void } = {},
): NotificationListener {
  return listenForNotifications(databaseUrl, {
    channel: JOB_DELETED_CHANNEL,
    onNotification: notifier.onJobDeleted,
    onListening: () => {
      notifier.onDeletionFeedStarted();
      options.onListening?.();
    },
    onError: options.onError,
  });
}
