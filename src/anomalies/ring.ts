// A growable FIFO of numbers (a trailing time window whose length varies).

export class Ring {
  private buf = new Float64Array(64);
  private head = 0;
  private n = 0;

  get length(): number {
    return this.n;
  }

  push(v: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      for (let i = 0; i < this.n; i++) next[i] = this.at(i);
      this.buf = next;
      this.head = 0;
    }
    this.buf[(this.head + this.n) % this.buf.length] = v;
    this.n++;
  }

  /** The i-th oldest value. */
  at(i: number): number {
    return this.buf[(this.head + i) % this.buf.length] as number;
  }

  shift(): number {
    const v = this.at(0);
    this.head = (this.head + 1) % this.buf.length;
    this.n--;
    return v;
  }
}
