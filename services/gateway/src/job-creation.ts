import { createHash } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { z } from 'zod';
import {
  ACCEPTED_CONTENT_TYPES,
  signEventsToken,
  type CreateJobResponse,
  type JobOptions,
} from '@transcribe/contracts';
import {
  findJobByIdempotencyKey,
  markUploadUsed,
  type EnrichmentRow,
  type JobRow,
  type UploadRow,
} from '@transcribe/db';
import { createQueuedJobFromUpload, insertQueuedJob } from '@transcribe/jobs';
import type { GatewayDeps } from './deps.js';
import { HttpError } from './http-error.js';
import { languageColumns } from './language-check.js';
import { toJob } from './job-view.js';
import { SIGNATURE_BYTES, detectContainer } from './media-signature.js';
import { admitQueuedJob, assertAudioQuota, queuedJobsExceeded } from './quota.js';

export type ParsedJobOptions = z.output<typeof JobOptions>;

/** An upload may still become a job this long after its URL expired (a PUT may finish late). */
export const UPLOAD_CLAIM_GRACE_MS = 60 * 60_000;

/**
 * What landed in S3 must be what was declared, whatever the S3 server enforced: present,
 * of the declared size and type, and recognisably media. A wrong object is deleted at once
 * (the upload stays pending, so the client may upload again while its URL is valid).
 */
export async function verifyUploadedObject(deps: GatewayDeps, upload: UploadRow): Promise<void> {
  // One request: a ranged GET gives the size (Content-Range), the type and the first bytes.
  const object = await deps.storage.inspect(upload.object_key, SIGNATURE_BYTES);
  if (!object) {
    if (upload.multipart_id) {
      throw new HttpError(409, 'upload_missing', 'the multipart upload is not completed yet');
    }
    throw new HttpError(
      409,
      'upload_missing',
      'nothing was uploaded for this upload id yet: upload the file first',
    );
  }
  const refuse = async (
    status: number,
    code: 'upload_size_mismatch' | 'unsupported_media_type',
    message: string,
  ) => {
    await deps.storage.delete(upload.object_key);
    throw new HttpError(status, code, `${message}; the uploaded object was deleted`);
  };
  if (object.sizeBytes !== upload.size_bytes) {
    await refuse(
      422,
      'upload_size_mismatch',
      `uploaded ${object.sizeBytes} bytes but declared ${upload.size_bytes}`,
    );
  }
  const storedType = object.contentType?.split(';')[0]?.trim().toLowerCase();
  if (storedType && storedType !== upload.content_type && upload.method !== 'form') {
    await refuse(
      415,
      'unsupported_media_type',
      `uploaded as ${storedType} but declared ${upload.content_type}`,
    );
  }
  if (!detectContainer(object.start)) {
    await refuse(
      415,
      'unsupported_media_type',
      `the file is not a recognised audio or video container (accepted: ${ACCEPTED_CONTENT_TYPES.join(', ')})`,
    );
  }
}

export function assertUploadClaimable(upload: UploadRow): void {
  if (upload.status === 'used') {
    throw new HttpError(409, 'upload_already_used', 'this upload already has a job');
  }
  if (upload.expires_at.getTime() + UPLOAD_CLAIM_GRACE_MS < Date.now()) {
    throw new HttpError(410, 'upload_expired', 'this upload expired; create a new one');
  }
}

export function assertEngineEnabled(deps: GatewayDeps, engine: string | undefined): void {
  if (engine !== undefined && !deps.settings.engines.includes(engine as never)) {
    throw new HttpError(
      422,
      'engine_unavailable',
      `engine "${engine}" is not enabled here (enabled: ${deps.settings.engines.join(', ')})`,
    );
  }
}

/** A stable digest of a creation request, to tell an Idempotency-Key replay from a conflict. */
export function requestHash(value: unknown): string {
  const canonical = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>)
            .filter(([, x]) => x !== undefined)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([k, x]) => [k, canonical(x)]),
        )
      : v;
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('hex');
}

export interface Idempotency {
  key: string;
  hash: string;
}

/** The job an Idempotency-Key already made: the same one for the same body, 409 for another. */
export async function replayIdempotent(
  deps: GatewayDeps,
  tenantId: string,
  idempotency: Idempotency,
): Promise<JobRow | undefined> {
  const existing = await findJobByIdempotencyKey(deps.db, tenantId, idempotency.key);
  if (existing && existing.request_hash !== idempotency.hash) {
    throw new HttpError(
      409,
      'idempotency_conflict',
      'this Idempotency-Key was used with a different request body',
      { jobId: existing.id },
    );
  }
  return existing;
}

const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === '23505';

/**
 * Upload → job in one transaction: the upload is spent, the job row, its `queued` event,
 * its enrichments (each with its `enrichment.queued` event) and its queue message
 * (outbox) are written together, or none of them is.
 */
export async function queueJob(
  deps: GatewayDeps,
  input: {
    tenantId: string;
    upload: UploadRow;
    options: ParsedJobOptions;
    idempotency?: Idempotency;
  },
): Promise<JobRow> {
  const { tenantId, upload, options, idempotency } = input;
  await assertAudioQuota(deps, tenantId);
  let job: JobRow;
  const row = {
    id: uuidv7(),
    tenant_id: tenantId,
    upload_id: upload.id,
    priority: options.priority,
    object_key: upload.object_key,
    filename: upload.filename,
    content_type: upload.content_type,
    size_bytes: upload.size_bytes,
    language: options.language,
    ...languageColumns(deps.settings, options),
    engine: options.engine ?? deps.settings.engines[0]!,
    model: options.model ?? null,
    webhook_url: options.webhookUrl ?? null,
    metadata: options.metadata ? JSON.stringify(options.metadata) : null,
    idempotency_key: idempotency?.key ?? null,
    request_hash: idempotency?.hash ?? null,
  };
  try {
    if (!options.enrich?.length) {
      // The common case in one statement (admission, upload spent, job, event, message).
      const outcome = await createQueuedJobFromUpload(deps.db, row, {
        deploymentMaxQueued: deps.settings.tenantMaxQueuedJobs ?? 0,
      });
      if (outcome.kind === 'over_cap') throw queuedJobsExceeded(outcome.limit, outcome.queued);
      if (outcome.kind === 'upload_used') {
        throw new HttpError(409, 'upload_already_used', 'this upload already has a job');
      }
      job = outcome.job;
    } else {
      job = await deps.db.transaction().execute(async (trx) => {
        // Refused over the queued-jobs cap: the transaction rolls back, the upload stays unused.
        await admitQueuedJob(trx, deps.settings, tenantId);
        if (!(await markUploadUsed(trx, upload.id))) {
          throw new HttpError(409, 'upload_already_used', 'this upload already has a job');
        }
        return insertQueuedJob(trx, row, options.enrich ?? []);
      });
    }
  } catch (error) {
    // A concurrent request with the same Idempotency-Key won (it spent the upload first,
    // inserted the key first, or took the last place in the queue, and has committed by the
    // time we get here): answer as it did.
    const lostRace =
      isUniqueViolation(error) ||
      (error instanceof HttpError &&
        (error.code === 'upload_already_used' || error.code === 'quota_exceeded'));
    if (idempotency && lostRace) {
      const existing = await replayIdempotent(deps, tenantId, idempotency);
      if (existing) return existing;
    }
    throw error;
  }
  deps.relay.kick();
  return job;
}

/** The job plus a short-lived token for the events WebSocket (browsers cannot set headers). */
export function creationResponse(
  deps: GatewayDeps,
  job: JobRow,
  enrichments: readonly EnrichmentRow[] = [],
): CreateJobResponse {
  const exp = Math.floor(Date.now() / 1000) + deps.settings.eventsTokenTtlS;
  const token = signEventsToken(
    { sub: job.tenant_id, jobId: job.id, exp },
    deps.settings.tokenSecret,
  );
  const view = toJob(job, deps.links, enrichments);
  return {
    ...view,
    links: { ...view.links, events: `${view.links.events}&token=${encodeURIComponent(token)}` },
    eventsToken: token,
    eventsTokenExpiresAt: new Date(exp * 1000).toISOString(),
  };
}
