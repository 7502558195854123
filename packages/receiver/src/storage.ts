import { mkdir, open, rename, writeFile } from 'node:fs/promises';

/** An open recording file, written at explicit positions (the header is rewritten in place). */
export interface RecordingFile {
  write(bytes: Uint8Array, position: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Where recordings go: the receiver's disk port. The default writes to the local file system;
 * tests pass a slowed-down wrapper to prove that a slow disk never blocks other sessions.
 */
export interface RecordingStorage {
  mkdir(dir: string): Promise<void>;
  /** Creates `path`, failing with an `EEXIST` error when it already exists (never overwrites). */
  createExclusive(path: string): Promise<RecordingFile>;
  /** Replaces `path` with `text` atomically (write to a temporary file, then rename). */
  writeTextAtomic(path: string, text: string): Promise<void>;
}

/** The local file system. */
export const fileSystemStorage: RecordingStorage = {
  async mkdir(dir) {
    await mkdir(dir, { recursive: true });
  },
  async createExclusive(path) {
    const handle = await open(path, 'wx');
    return {
      async write(bytes, position) {
        let done = 0;
        while (done < bytes.length) {
          const { bytesWritten } = await handle.write(
            bytes,
            done,
            bytes.length - done,
            position + done,
          );
          done += bytesWritten;
        }
      },
      close: () => handle.close(),
    };
  },
  async writeTextAtomic(path, text) {
    const temporary = `${path}.tmp`;
    await writeFile(temporary, text, 'utf8');
    await rename(temporary, path);
  },
};

/** True for the error `createExclusive` throws when the file exists. */
export function isAlreadyExists(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'EEXIST';
}
