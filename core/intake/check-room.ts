/**
 * Room for the checks of large messages. Parsing and DKIM body hashes are CPU work: ten 28 MB messages checked at
 * once share the CPU, and each takes ten times as long, so every one misses its intake deadline (measured: 9 of 10
 * answered 451 by bench:smtp). Large messages are checked in arrival order while the bytes under check stay within a
 * bound (one is always let in); small ones never wait. A message's deadline starts when its checks do; the wait is
 * bounded by what the doors let in at once (the SMTP listener's in-flight budget).
 */
const SMALL_MESSAGE_BYTES = 1024 * 1024;
export const DEFAULT_CHECK_ROOM_BYTES = 64 * 1024 * 1024;

export class CheckRoom {
	private inUse = 0;
	private readonly waiting: Array<{ bytes: number; enter: () => void }> = [];

	constructor(private readonly maxBytes: number = DEFAULT_CHECK_ROOM_BYTES) {}

	/** Resolves when a message of this size may be checked; call `leave` with the same size once its checks end. */
	async enter(bytes: number): Promise<void> {
		if (bytes <= SMALL_MESSAGE_BYTES) {
			this.inUse += bytes;
			return;
		}
		if (!this.waiting.length && this.fits(bytes)) {
			this.inUse += bytes;
			return;
		}
		await new Promise<void>((enter) => this.waiting.push({ bytes, enter }));
	}

	leave(bytes: number): void {
		this.inUse -= bytes;
		while (this.waiting.length && this.fits(this.waiting[0].bytes)) {
			const next = this.waiting.shift()!;
			this.inUse += next.bytes;
			next.enter();
		}
	}

	/** Large messages waiting for room. */
	get queued(): number {
		return this.waiting.length;
	}

	private fits(bytes: number): boolean {
		return this.inUse === 0 || this.inUse + bytes <= this.maxBytes;
	}
}

/** The process's room: the CPU is shared by every door and inbox in it. */
export const CHECK_ROOM = new CheckRoom();
