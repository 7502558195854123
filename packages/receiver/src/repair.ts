import { open, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { RECEIVER_ERRORS } from './errors.js';
import type { RecordingStorage } from './storage.js';
import type { Sidecar } from './sidecar.js';
import { WAV_HEADER_BYTES, durationMsOf, readWavHeader, wavHeader } from './wav.js';

/** One recording the repair touched. */
export interface RepairedRecording {
  readonly wavPath: string;
  /** The header claimed a different size than the file holds, and was rewritten. */
  readonly headerRepaired: boolean;
  /** The sidecar said the recording was still open, and was closed with `endReason: "error"`. */
  readonly sidecarClosed: boolean;
  readonly durationMs: number;
}

/**
 * Finds recordings a previous run left unfinished (killed mid-stream) and makes them whole: the
 * WAV header is rewritten to match the audio actually on disk (cut to whole sample frames) and the
 * sidecar is closed with `endReason: "error"`, the code `FS_RCV_UNCLEAN_SHUTDOWN` and a note.
 * Only files in the receiver's own WAV layout are touched. Must not run while another receiver
 * records into the same folder.
 */
export async function repairRecordings(
  recordingsDir: string,
  storage: RecordingStorage,
  logger: Logger,
  now: () => number = Date.now,
): Promise<RepairedRecording[]> {
  const repaired: RepairedRecording[] = [];
  let calls: string[];
  try {
    calls = (await readdir(recordingsDir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return repaired;
    throw error;
  }
  for (const call of calls) {
    const dir = join(recordingsDir, call);
    for (const name of await readdir(dir)) {
      if (name.endsWith('.json.tmp')) {
        await rm(join(dir, name), { force: true });
        continue;
      }
      if (!name.endsWith('.wav')) continue;
      try {
        const result = await repairOne(join(dir, name), storage, now);
        if (result !== null) {
          repaired.push(result);
          logger.warn(result, 'repaired a recording left unfinished by an unclean shutdown');
        }
      } catch (error) {
        logger.error(
          { err: error, wavPath: join(dir, name) },
          'could not repair a recording; left as is',
        );
      }
    }
  }
  return repaired;
}

async function repairOne(
  wavPath: string,
  storage: RecordingStorage,
  now: () => number,
): Promise<RepairedRecording | null> {
  const handle = await open(wavPath, 'r+');
  let headerRepaired = false;
  let dataBytes: number;
  let channels: 1 | 2;
  let modified: Date;
  try {
    const head = new Uint8Array(WAV_HEADER_BYTES);
    await handle.read(head, 0, WAV_HEADER_BYTES, 0);
    const header = readWavHeader(head);
    if (header === null) return null;
    channels = header.channels;
    const info = await handle.stat();
    modified = info.mtime;
    const onDisk = Math.max(0, info.size - WAV_HEADER_BYTES);
    // A finished file may carry one pad byte after odd-sized data (RIFF rule).
    const consistent =
      header.dataBytes === onDisk ||
      (header.dataBytes % 2 === 1 && header.dataBytes + 1 === onDisk);
    dataBytes = consistent ? header.dataBytes : onDisk - (onDisk % channels);
    if (!consistent || header.sampleFrames !== Math.floor(dataBytes / channels)) {
      await handle.truncate(WAV_HEADER_BYTES + dataBytes);
      if (dataBytes % 2 === 1)
        await handle.write(Uint8Array.of(0), 0, 1, WAV_HEADER_BYTES + dataBytes);
      await handle.write(wavHeader(channels, dataBytes), 0, WAV_HEADER_BYTES, 0);
      headerRepaired = true;
    }
  } finally {
    await handle.close();
  }
  const sidecarPath = wavPath.replace(/\.wav$/, '.json');
  let sidecarClosed = false;
  const durationMs = durationMsOf(dataBytes, channels);
  const sidecar = await readSidecar(sidecarPath);
  if (sidecar !== null && sidecar.endedAt === null) {
    // The open sidecar is rewritten only every sidecarIntervalMs: its counters may lag the WAV by
    // that much, so the note says which stretch of audio they describe.
    const countedMs = typeof sidecar.durationMs === 'number' ? sidecar.durationMs : 0;
    sidecar.endedAt = modified.toISOString();
    sidecar.durationMs = durationMs;
    sidecar.endReason = 'error';
    sidecar.error = {
      code: 'FS_RCV_UNCLEAN_SHUTDOWN',
      message: RECEIVER_ERRORS.FS_RCV_UNCLEAN_SHUTDOWN.summary,
    };
    sidecar.notes.push(
      `Repaired on start at ${new Date(now()).toISOString()}: the receiver stopped without finishing ` +
        `this recording (killed or crashed). The WAV holds ${durationMs} ms of audio, everything ` +
        `flushed before the stop; endedAt is the WAV's last modification time. ` +
        `framesByTrack, bytesByTrack, gaps and anomalies are as of the last periodic sidecar ` +
        `save, when the WAV held ${countedMs} ms: what arrived after that save is not in them.`,
    );
    await storage.writeTextAtomic(sidecarPath, `${JSON.stringify(sidecar, null, 2)}\n`);
    sidecarClosed = true;
  }
  if (!headerRepaired && !sidecarClosed) return null;
  return { wavPath, headerRepaired, sidecarClosed, durationMs };
}

async function readSidecar(path: string): Promise<Sidecar | null> {
  try {
    await stat(path);
  } catch {
    return null;
  }
  const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown;
  if (typeof parsed !== 'object' || parsed === null || !('endedAt' in parsed)) return null;
  const sidecar = parsed as Sidecar;
  if (!Array.isArray(sidecar.notes)) sidecar.notes = [];
  return sidecar;
}
