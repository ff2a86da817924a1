import {gunzipSync} from 'node:zlib'

/** One answer of the API server: what KubeClient needs of any HTTP version. */
export interface Exchange {
  status: number
  body: string
  retryAfter?: string | string[]
}

/**
 * A response body as text. Requests ask for `Accept-Encoding: gzip`, as client-go does: kube-apiserver then
 * compresses answers over 128 kB (list pages), so a page of 500 secrets' metadata crosses the wire
 * compressed; a `Content-Encoding: gzip` body is decompressed here.
 */
export function bodyText(chunks: Buffer[], contentEncoding: string | string[] | undefined): string {
  const raw = Buffer.concat(chunks)
  return (contentEncoding === 'gzip' ? gunzipSync(raw) : raw).toString('utf8')
}
