// Preloaded into the notifier (`BENCH_NOTIFIER_NODE_OPTIONS="--import <this file's .js>"`,
// since NODE_OPTIONS may not carry --cpu-prof): profiles the whole process and writes
// $BENCH_PROFILE_DIR/notifier-<pid>.cpuprofile when it exits.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 200 });
session.post('Profiler.start');
process.on('exit', () => {
  // A same-thread session answers synchronously, so this works in an exit handler.
  session.post('Profiler.stop', (err, result) => {
    if (err) return;
    const dir = process.env.BENCH_PROFILE_DIR ?? '/tmp';
    writeFileSync(join(dir, `notifier-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});
