// Loaded with `--import` (NODE_OPTIONS does not allow --cpu-prof): profiles the process
// from its start and writes a .cpuprofile into BENCH_PROF_DIR when it exits.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 1000 });
session.post('Profiler.start');
process.on('exit', () => {
  // An in-thread session answers synchronously, so this runs before the process ends.
  session.post('Profiler.stop', (error, result) => {
    if (error) return;
    const file = join(process.env.BENCH_PROF_DIR ?? '.', `gateway-${process.pid}.cpuprofile`);
    writeFileSync(file, JSON.stringify(result.profile));
  });
});
