import type { Db, JobRow } from '@transcribe/db';
import { admitAudio } from '@transcribe/jobs';
import { JobLostError, PermanentJobError } from './errors.js';
import type { AdmitAudio } from './pipeline.js';

/**
 * The pipeline's admission step for one attempt: the tenant's daily quota of decoded
 * audio (TENANT_MAX_AUDIO_S_PER_DAY, or the tenant's own limit; 0 is none). A job over
 * it fails `quota_exceeded`, naming the limit, the day's use and when the day resets.
 */
export function tenantAudioAdmission(db: Db, job: JobRow, defaultMaxS: number): AdmitAudio {
  return async (durationS) => {
    const admission = await admitAudio(db, job, { durationS, defaultMaxS });
    if (admission.admitted) return;
    if (admission.reason === 'lost') throw new JobLostError();
    const { maxS, usedS, resetsAt } = admission;
    throw new PermanentJobError(
      'quota_exceeded',
      `This ${Math.round(durationS)} s of audio would exceed the tenant's daily limit of ${maxS} s ` +
        `(${Math.round(usedS)} s used today); the limit resets at ${resetsAt.toISOString()}.`,
    );
  };
}
