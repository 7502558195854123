/**
 * A file-backed `SegmentStore` (the core's port): one JSON document per customer call,
 * `{dataDir}/calls/{CallSid}.json`, rewritten whole on every change through a temporary file and
 * a rename, so a reader (or a restarted controller) sees either the old or the new document, never
 * half of one. Versions are optimistic exactly as in the core's memory store.
 *
 * Why one file per call: the controller works call by call under a per-call lock, a call has a
 * handful of segments, and a call file can be read, archived or deleted on its own. An
 * append-only log would need compaction for nothing.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createFsError,
  createKeyedSerializer,
  isSid,
  type Segment,
  type SegmentStore,
} from '@flex-streams/core';
import { ServiceError } from '../service/errors.js';

/** `format` of every call file; a different value is refused rather than guessed at. */
export const CALL_FILE_FORMAT = 'flex-streams.call-segments/1';

/** The document stored per call. */
interface CallFile {
  format: typeof CALL_FILE_FORMAT;
  customerCallSid: string;
  segments: Segment[];
}

/** The file store: the core's port plus where it keeps its files. */
export interface FileSegmentStore extends SegmentStore {
  /** `{dataDir}/calls`. */
  readonly directory: string;
  /** The file a call's segments live in. */
  fileFor(customerCallSid: string): string;
  /**
   * Deletes the files of calls whose every segment ended before `endedBefore` (epoch ms), and
   * forgets them: retention. A call with a live segment, or one that ended later, is kept.
   * Resolves with the call SIDs removed.
   */
  prune(endedBefore: number): Promise<string[]>;
}

/** Options of {@link openFileSegmentStore}. */
export interface FileSegmentStoreOptions {
  /** The service's data directory; created when missing. */
  dataDir: string;
  /**
   * `fsync` each file before the rename (default true): without it a power loss can leave an
   * empty file behind the rename on some file systems. Tests may turn it off for speed.
   */
  durable?: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks the fields the store itself relies on (ids, version, index, reservation, call). The rest
 * of a segment is the core's data, written by this store, and read back as is.
 */
function segmentProblem(value: unknown, customerCallSid: string): string | null {
  if (!isRecord(value)) return 'a segment is not an object';
  if (typeof value.id !== 'string' || value.id === '') return 'a segment has no id';
  if (!Number.isInteger(value.version) || (value.version as number) < 1) {
    return `segment ${value.id} has no valid version`;
  }
  if (!Number.isInteger(value.index)) return `segment ${value.id} has no index`;
  if (!isSid(value.reservationSid, 'WR')) return `segment ${value.id} has no reservationSid`;
  if (value.customerCallSid !== customerCallSid) {
    return `segment ${value.id} belongs to call ${String(value.customerCallSid)}`;
  }
  if (!Array.isArray(value.streams) || !Array.isArray(value.pauses)) {
    return `segment ${value.id} has no streams or pauses list`;
  }
  return null;
}

function corrupt(file: string, why: string, cause?: unknown): ServiceError {
  return new ServiceError(
    'FS_ERR_STORE_CORRUPT',
    `The segment store file ${file} is corrupt (${why}). It was left untouched: repair or move it ` +
      'away, then restart; the segments of that call are lost only if you delete it.',
    cause === undefined ? undefined : { cause },
  );
}

async function readCallFile(file: string, customerCallSid: string): Promise<Segment[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw corrupt(file, 'cannot be read', error);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw corrupt(file, 'not JSON', error);
  }
  if (!isRecord(parsed) || parsed.format !== CALL_FILE_FORMAT) {
    throw corrupt(file, `format is not ${CALL_FILE_FORMAT}`);
  }
  if (parsed.customerCallSid !== customerCallSid || !Array.isArray(parsed.segments)) {
    throw corrupt(file, 'customerCallSid does not match the file name, or no segments list');
  }
  for (const segment of parsed.segments) {
    const problem = segmentProblem(segment, customerCallSid);
    if (problem !== null) throw corrupt(file, problem);
  }
  return parsed.segments as Segment[];
}

async function writeAtomically(file: string, text: string, durable: boolean): Promise<void> {
  const temporary = `${file}.${randomUUID()}.tmp`;
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(text, 'utf8');
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new ServiceError(
      'FS_ERR_STORE_WRITE',
      `Could not write ${file}: ${error instanceof Error ? error.message : String(error)}. ` +
        'Check free space and permissions of the data directory (FLEX_STREAMS_DATA_DIR).',
      { cause: error },
    );
  }
}

const CALL_FILE = /^(CA[0-9a-fA-F]{32})\.json$/;

/** When a call began, for ordering: its earliest segment start (segments that never started last). */
function earliestStart(segments: readonly Segment[]): number {
  return Math.min(...segments.map((s) => s.startedAt ?? Infinity));
}

/**
 * Opens (creating when missing) the store under `dataDir`: every call file is read and checked
 * now, so a corrupt file stops the start-up with an error naming it, instead of surfacing in the
 * middle of a call. Temporary files of a write that was interrupted by a crash are removed (the
 * rename never happened, so the call file still holds the previous version).
 *
 * One process per data directory: lookups by reservation and by segment id are served from an
 * index built at open and kept by this process's writes.
 *
 * @throws {ServiceError} `FS_ERR_STORE_CORRUPT` naming the file.
 */
export async function openFileSegmentStore(
  options: FileSegmentStoreOptions,
): Promise<FileSegmentStore> {
  const directory = join(options.dataDir, 'calls');
  const durable = options.durable ?? true;
  await mkdir(directory, { recursive: true });

  const calls = new Map<string, Segment[]>();
  const callOfReservation = new Map<string, string>();
  const callOfSegment = new Map<string, string>();
  const writes = createKeyedSerializer();

  function index(segment: Segment): void {
    callOfReservation.set(segment.reservationSid, segment.customerCallSid);
    callOfSegment.set(segment.id, segment.customerCallSid);
  }

  for (const name of (await readdir(directory)).sort()) {
    if (name.endsWith('.tmp')) {
      await rm(join(directory, name), { force: true });
      continue;
    }
    const match = CALL_FILE.exec(name);
    if (match?.[1] === undefined) continue;
    const segments = await readCallFile(join(directory, name), match[1]);
    calls.set(match[1], segments);
    for (const segment of segments) {
      const other = callOfReservation.get(segment.reservationSid);
      if (other !== undefined) {
        throw corrupt(
          join(directory, name),
          `reservation ${segment.reservationSid} also has a segment in call ${other}`,
        );
      }
      index(segment);
    }
  }

  function fileFor(customerCallSid: string): string {
    if (!isSid(customerCallSid, 'CA')) {
      // The call SID becomes a file name: never let anything else near the file system.
      throw createFsError(
        'FS_ERR_INVALID_INPUT',
        `customerCallSid must be a CA… SID; got ${JSON.stringify(customerCallSid)}`,
      );
    }
    return join(directory, `${customerCallSid}.json`);
  }

  function find(segmentId: string | undefined, callSid: string | undefined): Segment | null {
    if (segmentId === undefined || callSid === undefined) return null;
    const found = calls.get(callSid)?.find((s) => s.id === segmentId);
    return found === undefined ? null : structuredClone(found);
  }

  return {
    directory,
    fileFor,
    get(segmentId) {
      return Promise.resolve(find(segmentId, callOfSegment.get(segmentId)));
    },
    getByReservation(reservationSid) {
      const callSid = callOfReservation.get(reservationSid);
      const segment = calls.get(callSid ?? '')?.find((s) => s.reservationSid === reservationSid);
      return Promise.resolve(find(segment?.id, callSid));
    },
    listByCall(customerCallSid) {
      const segments = (calls.get(customerCallSid) ?? [])
        .map((s) => structuredClone(s))
        .sort((a, b) => a.index - b.index);
      return Promise.resolve(segments);
    },
    put(segment, expectedVersion) {
      let file: string;
      try {
        file = fileFor(segment.customerCallSid);
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
      // Writes of one call are serialised so each rename carries every earlier change.
      return writes.run(segment.customerCallSid, async () => {
        const existing = calls.get(segment.customerCallSid) ?? [];
        const current = existing.find((s) => s.id === segment.id);
        const currentVersion = current?.version ?? 0;
        if (currentVersion !== expectedVersion) {
          throw createFsError(
            'FS_ERR_STORE_CONFLICT',
            `segment ${segment.id} is at version ${currentVersion}, not ${expectedVersion}: reload it and apply the change again`,
          );
        }
        const otherCall = callOfReservation.get(segment.reservationSid);
        if (current === undefined && otherCall !== undefined) {
          const other = calls
            .get(otherCall)
            ?.find((s) => s.reservationSid === segment.reservationSid);
          throw createFsError(
            'FS_ERR_STORE_CONFLICT',
            `reservation ${segment.reservationSid} already has segment ${other?.id ?? '(unknown)'}`,
          );
        }
        if (current === undefined && callOfSegment.has(segment.id)) {
          throw createFsError(
            'FS_ERR_STORE_CONFLICT',
            `segment id ${segment.id} is already used in call ${callOfSegment.get(segment.id) ?? ''}`,
          );
        }
        const stored = structuredClone({ ...segment, version: currentVersion + 1 });
        const next =
          current === undefined
            ? [...existing, stored]
            : existing.map((s) => (s.id === stored.id ? stored : s));
        const document: CallFile = {
          format: CALL_FILE_FORMAT,
          customerCallSid: segment.customerCallSid,
          segments: next,
        };
        await writeAtomically(file, `${JSON.stringify(document, null, 2)}\n`, durable);
        // Memory follows the disk only once the rename succeeded: a failed write changes nothing.
        calls.set(segment.customerCallSid, next);
        index(stored);
        return structuredClone(stored);
      });
    },
    async prune(endedBefore) {
      const removed: string[] = [];
      for (const [callSid, segments] of [...calls]) {
        const over = segments.every(
          (s) => s.state === 'ended' && (s.endedAt ?? s.startedAt ?? 0) < endedBefore,
        );
        if (!over) continue;
        // Under the call's write lock, so a write racing the prune either lands first (and the
        // call is looked at again) or finds the call gone and starts a new file.
        const gone = await writes.run(callSid, async () => {
          const current = calls.get(callSid) ?? [];
          if (
            !current.every(
              (s) => s.state === 'ended' && (s.endedAt ?? s.startedAt ?? 0) < endedBefore,
            )
          ) {
            return false;
          }
          await rm(fileFor(callSid), { force: true });
          calls.delete(callSid);
          for (const segment of current) {
            callOfReservation.delete(segment.reservationSid);
            callOfSegment.delete(segment.id);
          }
          return true;
        });
        if (gone) removed.push(callSid);
      }
      return removed;
    },
    listLiveCalls() {
      // Oldest first by the earliest segment start: after a restart the map holds the calls in
      // file-name order, which says nothing of their age. A stable sort keeps ties in that order.
      const live = [...calls]
        .filter(([, segments]) => segments.some((s) => s.state !== 'ended'))
        .map(([callSid, segments]) => ({ callSid, since: earliestStart(segments) }))
        .sort((a, b) => a.since - b.since)
        .map(({ callSid }) => callSid);
      return Promise.resolve(live);
    },
  };
}
