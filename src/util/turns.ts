// One thing at a time, in arrival order: the embedded engine is a single session.

export class Turns {
  private tail: Promise<void> = Promise.resolve();

  /** Waits for the previous turns, then holds this one until the returned function is called. */
  acquire(): Promise<() => void> {
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const granted = this.tail.then(() => release);
    this.tail = this.tail.then(() => done);
    return granted;
  }

  /** Runs fn in a turn of its own. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
