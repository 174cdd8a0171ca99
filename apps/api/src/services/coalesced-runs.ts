/**
 * One background job run at a time: asking while a run is under way asks for one more run after
 * it, however often it is asked, so work announced mid-run is never missed and never doubled.
 */
export class CoalescedRuns {
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(
    private readonly job: () => Promise<unknown>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Runs now, or once more after the run under way; nothing after `stop`. */
  request(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        try {
          await this.job();
        } catch (error) {
          this.onError(error);
        }
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- `run()` sets it while the job is awaited, which TypeScript's narrowing does not follow
      } while (this.#again && !this.#stopped);
    })().finally(() => {
      this.#running = undefined;
    });
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** No more runs; resolves when the one under way (if any) has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }
}
