// The environment that makes a service process profile itself (bench/lib/cpu-profile.ts,
// preloaded) into `dir`; nothing when `dir` is unset. Kept apart from the preload, which
// starts profiling whatever process imports it.
export function profiledEnv(name: string, dir: string | undefined): Record<string, string> {
  if (!dir) return {};
  return {
    NODE_OPTIONS: `--import=${new URL('./cpu-profile.js', import.meta.url).href}`,
    BENCH_PROFILE_DIR: dir,
    BENCH_PROFILE_NAME: name,
  };
}
