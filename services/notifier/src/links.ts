/** Where clients fetch a job and its transcript on the gateway (they need their API key). */
export function jobLinks(publicApiUrl: string, jobId: string) {
  const base = publicApiUrl.replace(/\/+$/, '');
  const job = `${base}/v1/jobs/${jobId}`;
  return {
    job,
    transcript: `${job}/transcript?format=json`,
    transcriptText: `${job}/transcript?format=txt`,
  };
}

/**
 * Where clients fetch one enrichment of a job (`GET /v1/jobs/:id/enrichments/:key`). The
 * key's `:` (in `translate:de`) is a legal path character and stays as it is.
 */
export function enrichmentLink(publicApiUrl: string, jobId: string, key: string): string {
  return `${jobLinks(publicApiUrl, jobId).job}/enrichments/${key}`;
}
