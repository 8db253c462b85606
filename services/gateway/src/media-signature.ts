/**
 * Recognises the containers the service accepts from an object's first bytes, so a text
 * file or an image uploaded as "audio/wav" is refused before a job is queued. The worker's
 * ffprobe stays the real judge: this only has to never refuse a real recording.
 */
export type MediaContainer = 'wav' | 'mp3' | 'aac' | 'flac' | 'ogg' | 'mp4' | 'mov' | 'webm';

/** How many leading bytes `detectContainer` wants. */
export const SIGNATURE_BYTES = 4096;

const ascii = (buf: Buffer, offset: number, text: string) =>
  buf.length >= offset + text.length &&
  buf.toString('latin1', offset, offset + text.length) === text;

/** An ID3v2 tag (mp3, aac, flac may start with one): its total length, or 0. */
function id3Length(buf: Buffer): number {
  if (!ascii(buf, 0, 'ID3') || buf.length < 10) return 0;
  // Syncsafe integer: 7 bits per byte.
  const size =
    ((buf[6]! & 0x7f) << 21) |
    ((buf[7]! & 0x7f) << 14) |
    ((buf[8]! & 0x7f) << 7) |
    (buf[9]! & 0x7f);
  return 10 + size + (buf[5]! & 0x10 ? 10 : 0);
}

function mpegFrame(buf: Buffer, at: number): 'mp3' | 'aac' | undefined {
  if (buf.length < at + 2 || buf[at] !== 0xff) return undefined;
  const b = buf[at + 1]!;
  if ((b & 0xf6) === 0xf0) return 'aac'; // ADTS: sync 0xFFF, layer 00
  if ((b & 0xe0) === 0xe0 && (b & 0x06) !== 0) return 'mp3'; // MPEG audio, layer I–III
  return undefined;
}

const QUICKTIME_ATOMS = ['moov', 'mdat', 'wide', 'free', 'skip', 'pnot'];

export function detectContainer(head: Buffer): MediaContainer | undefined {
  if (
    (ascii(head, 0, 'RIFF') || ascii(head, 0, 'RF64') || ascii(head, 0, 'BW64')) &&
    ascii(head, 8, 'WAVE')
  ) {
    return 'wav';
  }
  if (ascii(head, 0, 'fLaC')) return 'flac';
  if (ascii(head, 0, 'OggS')) return 'ogg';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x1a45dfa3) return 'webm';
  if (ascii(head, 4, 'ftyp')) {
    return ascii(head, 8, 'qt  ') ? 'mov' : 'mp4';
  }
  if (QUICKTIME_ATOMS.some((atom) => ascii(head, 4, atom))) return 'mov';
  const skip = id3Length(head);
  if (skip > 0) {
    // Past a tag longer than what we read, trust the tag: only audio files carry ID3.
    if (skip + 4 > head.length) return 'mp3';
    if (ascii(head, skip, 'fLaC')) return 'flac';
    return mpegFrame(head, skip) ?? undefined;
  }
  return mpegFrame(head, 0);
}
