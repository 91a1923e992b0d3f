/**
 * Runs `fn` with V8's gc function replaced by a mock and every module loaded fresh, so core/garbage.ts takes the mock
 * for its forced young collections: `fn` imports what it reads messages with, and the mock tells each collection.
 */
export async function withCollectionsWatched(fn: (gc: jest.Mock) => Promise<void>): Promise<void> {
	const gc = jest.fn();
	const exposed = (globalThis as { gc?: unknown }).gc;
	(globalThis as { gc?: unknown }).gc = gc;
	try {
		await jest.isolateModulesAsync(() => fn(gc));
	} finally {
		(globalThis as { gc?: unknown }).gc = exposed;
	}
}
