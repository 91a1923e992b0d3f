import type { IntakeResult, MessageContent, OriginalSender } from '../intake/types';
import type { IntakeItem } from '../item';
import type { MessageBytes } from '../message-bytes';

/** The trigger's outputs, in the order the node declares them. */
export const INTAKE_OUTPUTS = ['message', 'forwarding', 'rejected'] as const;
export type IntakeOutput = (typeof INTAKE_OUTPUTS)[number];

export interface IntakeAttachment {
	/** The binary property the node stores the bytes under (`email.attachments[].binaryKey`). */
	binaryKey: string;
	filename: string | null;
	contentType: string;
}

/** One message ready for a trigger to emit, whichever door it came through. */
export interface IntakeEmission {
	output: IntakeOutput;
	item: IntakeItem;
	/** In the order readAttachments hands them on: their bytes are read from `message` as they are stored. */
	attachments: IntakeAttachment[];
	/** Where the message's bytes are (the spool, a mailbox fetch): read again for the attachments and the raw message. */
	message: MessageBytes | null;
}

export interface EmissionSource {
	inboxAddress: string;
	via: IntakeItem['via'];
	receivedAt: string;
	/** Who released it from quarantine: it then flows out of Message, its verdict kept as it was. */
	released?: { by: string; at: string } | null;
	/** The spool entry it is emitted from (none for IMAP mail, which waits in its mailbox instead). */
	spoolId?: string | null;
	/** Its bytes, where they are kept; without them the item names its attachments but carries none. */
	message?: MessageBytes | null;
}

/**
 * Accepted mail (and quarantined mail someone released) goes to Message, provider confirmations and forwarding
 * tests to their own output, the rest aside.
 */
export function outputFor(result: IntakeResult, released = false): IntakeOutput {
	if (result.verdict.action !== 'accept' && !released) return 'rejected';
	if (result.kind === 'forwarding-confirmation' || result.kind === 'forwarding-test') return 'forwarding';
	return 'message';
}

/** Without a decision from the pipeline (e.g. a message refused before parsing) the outer sender stands, untrusted. */
function fallbackSender(result: IntakeResult): OriginalSender {
	return {
		address: result.message?.from?.address ?? null,
		name: result.message?.from?.name ?? null,
		method: 'from-header',
		forwardedBy: null,
		trusted: false,
		evidence: [],
		subject: null,
	};
}

/**
 * Intake result + the message's content -> the item and its attachments. The item is of the documented shape by
 * construction (checked by the compiler, with `verification` beside it for the confirmation output): the result is
 * this process's own, or a spooled decision checked as it was read back (rereadDecided). Each of our nodes checks
 * it again at its entry.
 */
export function buildIntakeEmission(result: IntakeResult, content: MessageContent | null, source: EmissionSource): IntakeEmission {
	const message = source.message ?? null;
	const read = message ? (content?.attachments ?? []) : [];
	const attachments: IntakeAttachment[] = read.map(({ filename, contentType }, index) => ({ binaryKey: `attachment_${index}`, filename, contentType }));
	const facts = result.message;
	const item: IntakeItem & Pick<IntakeResult, 'verification'> = {
		inbox: { address: source.inboxAddress },
		via: source.via,
		receivedAt: source.receivedAt,
		kind: result.kind,
		verdict: result.verdict,
		verification: result.verification,
		originalSender: result.originalSender ?? fallbackSender(result),
		thread: result.thread,
		size: result.size,
		envelope: result.envelope,
		email: {
			subject: facts?.subject ?? '',
			from: facts?.from ?? null,
			to: facts?.to ?? [],
			cc: facts?.cc ?? [],
			replyTo: facts?.replyTo ?? [],
			date: facts?.date ?? null,
			text: facts?.text ?? '',
			html: facts?.html ?? null,
			attachments: attachments.length
				? attachments.map((a, index) => ({ filename: a.filename, contentType: a.contentType, size: read[index].size, binaryKey: a.binaryKey }))
				: (facts?.attachments ?? []).map((a) => ({ filename: a.filename, contentType: a.contentType, size: a.size, binaryKey: null })),
		},
		auth: result.auth,
		...(source.released ? { released: source.released } : {}),
		spool: source.spoolId ? { id: source.spoolId } : null,
	};
	return { output: outputFor(result, !!source.released), item, attachments, message };
}
