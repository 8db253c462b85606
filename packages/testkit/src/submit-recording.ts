// A recording sent the way a user's browser or curl sends one: the gateway's form upload.

/**
 * `file` through `POST /v1/jobs/upload` as the tenant of `apiKey`, transcribed by sphinx
 * in English; the new job's id. Any answer but 202 throws, with its status and body.
 */
export async function submitRecording(
  gatewayUrl: string,
  apiKey: string,
  file: { bytes: Uint8Array; name: string; type: string },
): Promise<string> {
  const form = new FormData();
  form.set('engine', 'sphinx');
  form.set('language', 'en');
  form.set('file', new Blob([file.bytes], { type: file.type }), file.name);
  const res = await fetch(`${gatewayUrl}/v1/jobs/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}` },
    body: form,
  });
  const body = (await res.json()) as { id: string };
  if (res.status !== 202)
    throw new Error(`form upload answered ${res.status}: ${JSON.stringify(body)}`);
  return body.id;
}
