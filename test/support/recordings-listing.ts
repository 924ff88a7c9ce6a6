/**
 * The origin's paged recordings listing (`GET /api/recordings`, origin/http/http-api.ts) as tests and
 * benchmarks read it, on the origin's HTTP port or through an edge: one page, or every page by
 * following each page's `next` until there is none.
 */
import assert from 'node:assert/strict';
import { bearer } from './tokens.ts';
import type { RecordingListEntry } from '../../origin/recording/recording-index.ts';
import type { RoomManifest } from '../../origin/recording/room-recorder.ts';

/** One page of the listing as the HTTP API answers it. */
export interface ListingAnswer {
  files: RecordingListEntry[];
  rooms: Array<{ path: string; manifest: RoomManifest }>;
  next: string | null;
}

/** One page: `pathAndQuery` is `/api/recordings?...` (a `next` as the origin gave it); a status other than 200 fails. */
export async function listingPage(base: string, pathAndQuery: string, token: string): Promise<ListingAnswer> {
  const res = await fetch(`${base}${pathAndQuery}`, { headers: bearer(token) });
  const text = await res.text();
  assert.equal(res.status, 200, `${pathAndQuery}: ${text}`);
  return JSON.parse(text) as ListingAnswer;
}

/** Every page from `first` on, in order. */
export async function listingPages(base: string, first: string, token: string): Promise<ListingAnswer[]> {
  const pages: ListingAnswer[] = [];
  // (`?? null`: an origin from before paging answers everything at once, without `next`.)
  for (let next: string | null = first; next !== null; next = pages.at(-1)!.next ?? null) {
    assert.ok(pages.length < 10_000, 'the listing ends');
    pages.push(await listingPage(base, next, token));
  }
  return pages;
}
