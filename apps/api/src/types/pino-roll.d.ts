// pino-roll ships no types; this is the part of its API the logger uses.
declare module 'pino-roll' {
  interface PinoRollOptions {
    file: string | (() => string);
    size?: number | string;
    frequency?: 'daily' | 'hourly' | number;
    extension?: string;
    symlink?: boolean;
    limit?: { count?: number; removeOtherLogFiles?: boolean };
    dateFormat?: string;
    mkdir?: boolean;
    /** SonicBoom: buffer this many bytes before writing. */
    minLength?: number;
    /** SonicBoom: write what is buffered at least every this many milliseconds. */
    periodicFlush?: number;
    /** SonicBoom: the mode a new file is created with (before the umask). */
    mode?: number;
  }

  import type { destination } from 'pino';

  export default function build(options: PinoRollOptions): Promise<ReturnType<typeof destination>>;
}
