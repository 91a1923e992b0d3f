/**
 * What `work` resolves to, and the longest the event loop went without a turn until it settled: a wait that blocks
 * the thread (a synchronous lock wait, say) holds up every workflow and webhook of the n8n process meanwhile.
 */
export async function withLongestTurn<T>(work: () => Promise<T>): Promise<{ value: T; longestTurnMs: number }> {
	let longestTurnMs = 0;
	let last = performance.now();
	const turn = () => {
		longestTurnMs = Math.max(longestTurnMs, performance.now() - last);
		last = performance.now();
	};
	const turns = setInterval(turn, 10);
	let value: T;
	try {
		value = await work();
	} finally {
		clearInterval(turns);
		// The last stretch too: a block just before the work settled leaves no tick behind it.
		turn();
	}
	return { value, longestTurnMs };
}
