import { readFile } from 'node:fs/promises';

/** The samples of a 16-bit PCM mono WAV file, as the worker's normaliser writes them. */
export interface WavSamples {
  sampleRate: number;
  samples: Int16Array;
}

export async function readWavSamples(file: string): Promise<WavSamples> {
  const bytes = await readFile(file);
  if (bytes.length < 12 || bytes.toString('ascii', 0, 4) !== 'RIFF') {
    throw new Error(`not a WAV file: ${file}`);
  }
  let sampleRate = 0;
  let offset = 12; // past "RIFF" <size> "WAVE"
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    if (id === 'fmt ') {
      const format = bytes.readUInt16LE(offset + 8);
      const channels = bytes.readUInt16LE(offset + 10);
      const bits = bytes.readUInt16LE(offset + 22);
      if (format !== 1 || channels !== 1 || bits !== 16) {
        throw new Error(
          `${file}: not 16-bit PCM mono (format ${format}, ${channels} ch, ${bits} bit)`,
        );
      }
      sampleRate = bytes.readUInt32LE(offset + 12);
    }
    if (id === 'data') {
      if (!sampleRate) throw new Error(`${file}: data before its format`);
      // ffmpeg writing to a pipe leaves 0xFFFFFFFF: the data runs to the end of the file.
      const end = size === 0xffffffff ? bytes.length : Math.min(bytes.length, offset + 8 + size);
      const start = offset + 8;
      const count = Math.floor((end - start) / 2);
      const samples = new Int16Array(count);
      for (let i = 0; i < count; i++) samples[i] = bytes.readInt16LE(start + 2 * i);
      return { sampleRate, samples };
    }
    offset += 8 + size + (size % 2);
  }
  throw new Error(`${file}: no data chunk`);
}
