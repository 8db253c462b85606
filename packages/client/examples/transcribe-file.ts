// Transcribes one recording with @transcribe/client: upload with progress, follow the job's
// events live (resuming where it left off if the connection is lost for good), then fetch
// the transcript in every format.
//
//   TRANSCRIBE_URL=http://localhost:8080 TRANSCRIBE_API_KEY=dev-local-key-change-me \
//     node packages/client/examples/dist/transcribe-file.js fixtures/audio/jfk.wav
//
// (Compile first: pnpm exec tsc -p packages/client/examples.)
import {
  ApiError,
  ClientError,
  createClient,
  type JobEvent,
  type TranscriptFormat,
} from '@transcribe/client';

const path = process.argv[2];
const apiKey = process.env.TRANSCRIBE_API_KEY;
if (!path || !apiKey) {
  console.error('usage: TRANSCRIBE_API_KEY=… [TRANSCRIBE_URL=…] transcribe-file.js <file>');
  process.exit(2);
}
const client = createClient({
  baseUrl: process.env.TRANSCRIBE_URL ?? 'http://localhost:8080',
  apiKey,
});

function describe(event: JobEvent): string {
  switch (event.type) {
    case 'progress':
      return `${event.stage} ${Math.round(event.progress)}%`;
    case 'processing':
      return `processing (attempt ${event.attempt})`;
    case 'completed':
      return `completed in ${event.processingMs} ms`;
    case 'failed':
      return `failed: ${event.error.code}`;
    default:
      return event.type;
  }
}

try {
  // 1. Upload: the SDK asks the gateway for a presigned URL and streams the file to storage
  //    (in parts, above 100 MiB), reporting bytes as they go.
  const upload = await client.uploadFile(path, {
    onProgress: (sent, total) =>
      process.stderr.write(`\ruploading ${Math.round((sent / total) * 100)}%`),
  });
  process.stderr.write('\n');

  // 2. The job: every option of the API is typed (engine, model, webhookUrl, metadata…).
  const job = await client.createJob({
    uploadId: upload.uploadId,
    language: 'en',
    metadata: { source: 'examples/transcribe-file.ts' },
  });
  console.error(`job ${job.id} is ${job.status}`);

  // 3. Events, live. followEvents reconnects by itself with `after=<last seq>`, so events
  //    arrive once each and in order. Keep the last seq: if the retries run out
  //    (reconnect_failed) or this process restarts, following again from it misses nothing.
  let lastSeq = 0;
  const onEvent = (event: JobEvent) => {
    lastSeq = event.seq;
    console.error(`  #${event.seq} ${describe(event)}`);
  };
  let terminal: JobEvent;
  try {
    terminal = await client.followEvents(job, { onEvent });
  } catch (error) {
    if (!(error instanceof ClientError && error.code === 'reconnect_failed')) throw error;
    console.error(`events lost after #${lastSeq}; resuming from there`);
    terminal = await client.waitForJob(job.id, { after: lastSeq, onEvent });
  }
  if (terminal.type !== 'completed') {
    console.error(`job ${job.id} ended ${terminal.type}`);
    process.exit(1);
  }

  // 4. The transcript, in each format: text, subtitles, and JSON with timed segments.
  for (const format of ['txt', 'srt', 'vtt'] satisfies TranscriptFormat[]) {
    console.log(`--- ${format}\n${(await client.getTranscript(job.id, format)).trimEnd()}`);
  }
  const json = await client.getTranscript(job.id, 'json');
  console.log(
    `--- json\n${json.segments.length} segments, ${json.durationS ?? '?'} s of audio, ` +
      `engine ${json.engine}${json.model ? ` (${json.model})` : ''}: ${json.text}`,
  );
} catch (error) {
  // ApiError: the server said no (stable `code`, HTTP `status`, `requestId` for its logs).
  // ClientError: this side (file_error, network_error, invalid_response, reconnect_failed…).
  if (error instanceof ApiError) {
    console.error(`API error ${error.code} (HTTP ${error.status}, request ${error.requestId})`);
    console.error(error.message);
  } else if (error instanceof ClientError) {
    console.error(`client error ${error.code}: ${error.message}`);
  } else {
    throw error;
  }
  process.exit(1);
}
