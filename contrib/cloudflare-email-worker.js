/**
 * A Cloudflare Email Worker that hands every message Email Routing gives it to a Hosted Inbox Trigger's HTTP door
 * (format "raw"), streamed as it arrives. Setup: contrib/README.md. Worker settings:
 *   HOSTED_INBOX_URL    the trigger's webhook URL (production URL, https)
 *   HOSTED_INBOX_TOKEN  the trigger's token (add it as a secret: `wrangler secret put HOSTED_INBOX_TOKEN`)
 *
 * What the door answers decides what the sending server hears, as `hosted-inbox deliver` decides for Postfix:
 *   2xx                             taken (in the inbox's spool): done
 *   413, or 422 with a 5xx reply    refused for good: message.setReject(reply), the sender gets a bounce
 *   anything else (401, 404, 429, 503, a network error...)   thrown: a temporary failure, the message is not
 *                                   refused (a wrong token or URL must never bounce mail)
 * This file is deployed alone (the dashboard editor or wrangler), so it carries its own few lines of that mapping.
 */

/** The door's answer is a short JSON object; nothing more of a body is read. */
const MAX_ANSWER_BYTES = 64 * 1024;

export default {
	async email(message, env) {
		if (!env.HOSTED_INBOX_URL || !env.HOSTED_INBOX_TOKEN) {
			throw new Error('hosted inbox: set HOSTED_INBOX_URL and the secret HOSTED_INBOX_TOKEN in the worker settings; the message is not accepted until then');
		}
		const response = await fetch(env.HOSTED_INBOX_URL, {
			method: 'POST',
			headers: {
				'Content-Type': 'message/rfc822',
				Accept: 'application/json',
				Authorization: `Bearer ${env.HOSTED_INBOX_TOKEN}`,
				// Email Routing's envelope. It reports no client IP: the door reads Cloudflare's own Received hop.
				'X-Envelope-From': message.from || '<>',
				'X-Envelope-To': message.to,
			},
			body: message.raw,
			// A streamed request body (required by the fetch standard for a stream; Workers accept it).
			duplex: 'half',
			redirect: 'manual',
		});
		const reply = await replyOf(response);
		if (response.status >= 200 && response.status < 300) return;
		const refusedForGood = response.status === 413 ? !reply || /^5/.test(reply) : response.status === 422 && /^5\d\d /.test(reply ?? '');
		if (refusedForGood) {
			message.setReject(reply ?? 'Message too big for the hosted inbox');
			return;
		}
		throw new Error(`hosted inbox: HTTP ${response.status}${reply ? ` (${reply})` : ''}; try again later`);
	},
};

/** The SMTP reply in the door's JSON answer, one printable line; null when there is none. */
async function replyOf(response) {
	if (!response.body) return null;
	const reader = response.body.getReader();
	const chunks = [];
	let size = 0;
	try {
		while (size < MAX_ANSWER_BYTES) {
			const { done, value } = await reader.read();
			if (done) break;
			chunks.push(value);
			size += value.length;
		}
	} finally {
		await reader.cancel().catch(() => undefined);
	}
	let reply;
	try {
		reply = JSON.parse(new TextDecoder().decode(concat(chunks))).reply;
	} catch {
		return null;
	}
	if (typeof reply !== 'string') return null;
	const line = reply.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, 400);
	return line || null;
}

function concat(chunks) {
	const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
	let at = 0;
	for (const chunk of chunks) {
		bytes.set(chunk, at);
		at += chunk.length;
	}
	return bytes;
}
