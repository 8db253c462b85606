// Loaded with `--import` into a service under test (NODE_OPTIONS does not allow
// --cpu-prof): profiles the process from its start and writes
// $BENCH_PROFILE_DIR/$BENCH_PROFILE_NAME-<pid>.cpuprofile when it exits. The suites set
// these for the one process they profile (BENCH_GATEWAY_PROF_DIR, BENCH_NOTIFIER_PROF_DIR);
// bench/lib/profile-summary.js summarises the file.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', {
  interval: Number(process.env.BENCH_PROFILE_INTERVAL_US ?? 1000),
});
session.post('Profiler.start');
process.on('exit', () => {
  // An in-thread session answers synchronously, so this runs before the process ends.
  session.post('Profiler.stop', (error, result) => {
    if (error) return;
    const name = `${process.env.BENCH_PROFILE_NAME ?? 'node'}-${process.pid}.cpuprofile`;
    writeFileSync(join(process.env.BENCH_PROFILE_DIR ?? '.', name), JSON.stringify(result.profile));
  });
});
