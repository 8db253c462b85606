// Kept as the SDK's own export; the table lives in the contracts, shared with the gateway.
export { contentTypeFor, type ContentType as UploadContentType } from '@transcribe/contracts';
