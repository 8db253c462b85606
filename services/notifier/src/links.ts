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
