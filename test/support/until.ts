/**
 * Resolves once `check` holds, asked every `everyMs` for at most `timeoutMs`: what another process, connection or
 * thread does happens in its own time, and a test waits for it bounded.
 */
export async function until(what: string, check: () => boolean | Promise<boolean>, { timeoutMs = 180_000, everyMs = 500 } = {}): Promise<void> {
	for (const deadline = Date.now() + timeoutMs; !(await check()); ) {
		if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
		await new Promise((resolve) => setTimeout(resolve, everyMs));
	}
}
