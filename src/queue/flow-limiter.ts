import type { OutboundMessage } from './backend.js';

/** Approximate size of a message on the broker (Pub/Sub's accounting): data plus attributes. */
export function messageBytes(message: OutboundMessage): number {
  let bytes = message.data.length;
  for (const key in message.attributes) {
    bytes += key.length + (message.attributes[key]?.length ?? 0);
  }
  return bytes;
}

/**
 * Publisher flow control with cancellation. The library's own flow control
 * (`topic.flowControlled()`) keeps every id promise until `all()` is called
 * and cannot withdraw a waiting message; here a message whose caller already
 * got UNAVAILABLE leaves the queue and is never published.
 */
export class FlowLimiter {
  private messages = 0;
  private bytes = 0;
  private readonly waiters: { bytes: number; admit: () => void; cancelled: boolean }[] = [];

  constructor(
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {}

  /** Admits at once (returns undefined: the hot path allocates nothing) or queues. */
  acquire(bytes: number): { admitted: Promise<void>; cancel: () => void } | undefined {
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.take(bytes);
      return undefined;
    }
    let waiter: (typeof this.waiters)[number] | undefined;
    const admitted = new Promise<void>((resolve) => {
      waiter = { bytes, admit: resolve, cancelled: false };
      this.waiters.push(waiter);
    });
    return {
      admitted,
      cancel: () => {
        if (waiter !== undefined) waiter.cancelled = true;
        this.admitWaiting();
      },
    };
  }

  release(bytes: number): void {
    this.messages -= 1;
    this.bytes -= bytes;
    this.admitWaiting();
  }

  private fits(bytes: number): boolean {
    // A single message larger than the byte limit still goes out, alone.
    if (this.messages === 0) return true;
    return this.messages + 1 <= this.maxMessages && this.bytes + bytes <= this.maxBytes;
  }

  private take(bytes: number): void {
    this.messages += 1;
    this.bytes += bytes;
  }

  private admitWaiting(): void {
    for (;;) {
      const next = this.waiters[0];
      if (next === undefined) return;
      if (next.cancelled) {
        this.waiters.shift();
        continue;
      }
      if (!this.fits(next.bytes)) return;
      this.waiters.shift();
      this.take(next.bytes);
      next.admit();
    }
  }
}
