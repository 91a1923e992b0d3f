import type { IntakeResult, MessageContent, OriginalSender } from '../intake/types';
import { intakeItemSchema, parseItem, type IntakeItem } from '../item';

/** The trigger's outputs, in the order the node declares them. */
export const INTAKE_OUTPUTS = ['message', 'forwarding', 'rejected'] as const;
export type IntakeOutput = (typeof INTAKE_OUTPUTS)[number];

export interface IntakeAttachment {
	/** The binary property the node stores the bytes under (`email.attachments[].binaryKey`). */
	binaryKey: string;
	filename: string | null;
	contentType: string;
	content: Buffer;
}

/** One message ready for a trigger to emit, whichever door (SMTP, IMAP) it came through. */
export interface IntakeEmission {
	output: IntakeOutput;
	item: IntakeItem;
	attachments: IntakeAttachment[];
}

export interface EmissionSource {
	inboxAddress: string;
	via: IntakeItem['via'];
	receivedAt: string;
	/** Who released it from quarantine: it then flows out of Message, its verdict kept as it was. */
	released?: { by: string; at: string } | null;
	/** The spool entry it is emitted from (none for IMAP mail, which waits in its mailbox instead). */
	spoolId?: string | null;
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

/** Intake result + the message's content -> the item (validated against the item shape) and its attachments. */
export function buildIntakeEmission(result: IntakeResult, content: MessageContent | null, source: EmissionSource): IntakeEmission {
	const attachments: IntakeAttachment[] = (content?.attachments ?? []).map((attachment, index) => ({ binaryKey: `attachment_${index}`, ...attachment }));
	const facts = result.message;
	const json = {
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
				? attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, size: a.content.length, binaryKey: a.binaryKey }))
				: (facts?.attachments ?? []).map((a) => ({ filename: a.filename, contentType: a.contentType, size: a.size, binaryKey: null })),
		},
		auth: result.auth,
		...(source.released ? { released: source.released } : {}),
		spool: source.spoolId ? { id: source.spoolId } : null,
	};
	// passthrough keeps `verification` (not part of the base shape, but what the confirmation output is for).
	const item = parseItem(intakeItemSchema.passthrough(), 'an intake item', json) as IntakeItem;
	return { output: outputFor(result, !!source.released), item, attachments };
}
