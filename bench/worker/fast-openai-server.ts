// An OpenAI-compatible transcription endpoint that answers at once: the wire format of
// `POST /v1/audio/transcriptions` (multipart in, verbose_json out) with one segment per
// request, as long as the uploaded WAV. For the worker's memory figure, where what is
// measured is the worker's own handling of a 10-hour recording (download, decode, split,
// upload, fan-out, stitch), not a recogniser: testkit's openai-compatible-server runs
// pocketsphinx behind the same wire format, which would take most of an hour.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function startFastOpenAIServer() {
  let requests = 0;
  const server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      requests++;
      // 16 kHz mono s16 WAV: 32,000 bytes a second (the multipart framing is noise here).
      const durationS = Math.max(0.1, Math.round(((bytes - 44) / 32000) * 100) / 100);
      const body = JSON.stringify({
        task: 'transcribe',
        language: 'english',
        duration: durationS,
        text: 'speech',
        segments: [{ id: 0, start: 0, end: durationS, text: 'speech' }],
        words: [{ word: 'speech', start: 0, end: Math.min(1, durationS) }],
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
