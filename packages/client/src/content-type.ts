import { extname } from 'node:path';
import type { CreateUploadRequest } from '@transcribe/contracts';

export type UploadContentType = CreateUploadRequest['contentType'];

const BY_EXTENSION: Readonly<Record<string, UploadContentType>> = {
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
  '.flac': 'audio/flac',
  '.m4a': 'audio/mp4',
  '.aac': 'audio/aac',
  '.ogg': 'audio/ogg',
  '.opus': 'audio/opus',
  '.webm': 'audio/webm',
  '.mp4': 'video/mp4',
  '.mov': 'video/quicktime',
};

/** The media type to declare for a file, from its extension (case-insensitive). */
export function contentTypeFor(filename: string): UploadContentType {
  return BY_EXTENSION[extname(filename).toLowerCase()] ?? 'application/octet-stream';
}
