import { open } from 'node:fs/promises';

/** What the engines need to know about the 16 kHz mono WAV media.ts writes. */
export interface WavInfo {
  durationS: number;
  sampleRate: number;
  channels: number;
  bytesPerSecond: number;
}

/**
 * Reads the RIFF header: engines need the duration (progress, one-segment fallbacks,
 * splitting) without another ffprobe per chunk.
 */
export async function readWavInfo(file: string): Promise<WavInfo> {
  const handle = await open(file, 'r');
  try {
    const header = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(header, 0, header.length, 0);
    if (bytesRead < 12 || header.toString('ascii', 0, 4) !== 'RIFF') {
      throw new Error(`not a WAV file: ${file}`);
    }
    let format: { channels: number; sampleRate: number; bytesPerSecond: number } | undefined;
    let offset = 12; // past "RIFF" <size> "WAVE"
    while (offset + 8 <= bytesRead) {
      const id = header.toString('ascii', offset, offset + 4);
      const size = header.readUInt32LE(offset + 4);
      if (id === 'fmt ' && offset + 24 <= bytesRead) {
        format = {
          channels: header.readUInt16LE(offset + 10),
          sampleRate: header.readUInt32LE(offset + 12),
          bytesPerSecond: header.readUInt32LE(offset + 16),
        };
      }
      if (id === 'data') {
        if (!format || format.bytesPerSecond === 0)
          throw new Error(`WAV without a format: ${file}`);
        // ffmpeg writing to a pipe leaves 0xFFFFFFFF; take the file's real length then.
        const dataBytes = size === 0xffffffff ? (await handle.stat()).size - (offset + 8) : size;
        return { ...format, durationS: dataBytes / format.bytesPerSecond };
      }
      offset += 8 + size + (size % 2);
    }
    throw new Error(`WAV file without a data chunk in its first 4 KiB: ${file}`);
  } finally {
    await handle.close();
  }
}
