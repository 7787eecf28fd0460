/** A sleep that another part of the process can cut short (new work queued, shutdown). */
export class Wakeup {
  private pending: (() => void) | null = null;
  private woken = false;

  /** Resolves after `ms`, or at once when `wake()` was called since the last wait. */
  wait(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.pending = null;
        resolve();
      }
      this.pending = done;
    });
  }

  wake(): void {
    if (this.pending) this.pending();
    else this.woken = true;
  }
}
