import { z } from 'zod';

/**
 * The one item shape that flows between our nodes (documented in the README).
 * The trigger emits the intake result plus where it came from; each node validates what it needs
 * at its entry and adds its own part (`contact`, `conversation`, `assignment`, `ticket`), keeping the rest.
 * Attachments travel as n8n binary data; `email.attachments[].binaryKey` names the binary property.
 */

const address = z.object({ address: z.string(), name: z.string() });

export const intakeItemSchema = z.object({
	inbox: z.object({ address: z.string() }),
	via: z.enum(['smtp', 'imap', 'http', 'cli']),
	receivedAt: z.string(),
	kind: z.enum(['message', 'forwarding-confirmation', 'forwarding-test', 'auto-reply', 'bounce']),
	verdict: z.object({
		action: z.enum(['accept', 'reject', 'quarantine', 'defer']),
		smtpCode: z.number(),
		enhancedCode: z.string(),
		reasons: z.array(z.string()),
		flags: z.array(z.string()),
	}),
	originalSender: z.object({
		address: z.string().nullable(),
		name: z.string().nullable(),
		method: z.enum(['from-header', 'list-rewrite', 'inline-forward', 'attached-message']),
		forwardedBy: z.string().nullable(),
		trusted: z.boolean(),
		evidence: z.array(z.string()),
		/** A team member's manual forward: the forwarded message's subject (items from before it was added have none). */
		subject: z.string().nullable().optional(),
	}),
	thread: z.object({
		messageId: z.string().nullable(),
		inReplyTo: z.array(z.string()),
		references: z.array(z.string()),
		/** SHA-256 of the raw body (items from before it was added have none: the store hashes the recorded fields). */
		contentHash: z.string().nullable().optional(),
	}),
	size: z.number(),
	envelope: z.object({
		clientIp: z.string().nullable(),
		helo: z.string().nullable(),
		mailFrom: z.string().nullable(),
		rcpt: z.array(z.string()),
	}),
	email: z.object({
		subject: z.string(),
		from: address.nullable(),
		to: z.array(address),
		cc: z.array(address),
		replyTo: z.array(address),
		date: z.string().nullable(),
		text: z.string(),
		html: z.string().nullable(),
		attachments: z.array(
			z.object({
				filename: z.string().nullable(),
				contentType: z.string(),
				size: z.number(),
				binaryKey: z.string().nullable(),
			}),
		),
	}),
	auth: z.unknown(),
	/** Quarantined, then released by someone: it came out of Message with its verdict as it was. */
	released: z.object({ by: z.string(), at: z.string() }).optional(),
	/**
	 * The spool entry of a message the HTTP door answered 2xx, emitted by its webhook run, which nobody else watches:
	 * Resolve Original Sender marks it done when it records the message. Mail whose run the trigger watches (SMTP,
	 * re-driven, released) has none: its entry is done only once its whole execution succeeded, so a crash after
	 * Resolve still runs the rest of the workflow again.
	 */
	spool: z.object({ id: z.string().max(100) }).nullable().optional(),
});

/**
 * The decision kept with a spooled message (IntakeDecision), as it is read back from the store: written by this
 * version or an older one, it is checked before an item is built from it. `verification` is carried as it is.
 */
export const spooledDecisionSchema = intakeItemSchema
	.pick({ kind: true, verdict: true, thread: true, size: true, envelope: true, auth: true })
	.extend({ originalSender: intakeItemSchema.shape.originalSender.nullable(), verification: z.unknown() });

const contactPart = z.object({ id: z.string(), email: z.string(), name: z.string().nullable(), ownerId: z.string().nullable() });
const conversationPart = z.object({
	id: z.string(),
	status: z.enum(['open', 'closed']),
	assigneeId: z.string().nullable(),
	teamId: z.string().nullable(),
	subject: z.string(),
	isNew: z.boolean(),
	reopened: z.boolean(),
	threadRefused: z.string().nullable().optional(),
});

/** After Resolve Original Sender. */
export const resolvedItemSchema = intakeItemSchema.extend({
	contact: contactPart,
	conversation: conversationPart,
	message: z.object({ id: z.string(), messageId: z.string() }),
	replay: z.boolean(),
});

export const assignmentSchema = z.object({
	assignee: z.object({ id: z.string(), email: z.string(), fullName: z.string() }).nullable(),
	team: z.object({ id: z.string(), name: z.string() }).nullable(),
	rule: z.string(),
	reason: z.string(),
});

/** After Route Conversation. */
export const routedItemSchema = resolvedItemSchema.extend({ assignment: assignmentSchema });

/** What Create Ticket reads: Route Conversation is optional before it (without it the owner default is the conversation's assignee). */
export const ticketItemSchema = resolvedItemSchema.extend({ assignment: assignmentSchema.optional() });

const textOrNull = z.string().nullable().catch(null);

/**
 * What Send Team Email reads from its item, which may be any item (a new conversation can start from a schedule):
 * the parts of a trigger item that an automatic message checks. Each part is read leniently: one that is missing
 * or of another shape reads as absent, and an item without a `kind` is not a trigger item.
 */
export const answerableItemSchema = z.object({
	kind: z.string().optional().catch(undefined),
	verdict: z.object({ action: textOrNull, flags: z.array(z.unknown()).catch([]) }).catch({ action: null, flags: [] }),
	envelope: z.object({ mailFrom: textOrNull }).catch({ mailFrom: null }),
	originalSender: z.object({ address: textOrNull, method: z.string(), trusted: z.boolean().catch(false) }).nullable().catch(null),
	auth: z.record(z.unknown()).catch({}),
	/** After Resolve Original Sender: a flagged contact, a refused thread. */
	contact: z.object({ flagged: z.boolean().catch(false) }).catch({ flagged: false }),
	conversation: z.object({ threadRefused: textOrNull }).catch({ threadRefused: null }),
	email: z.object({ from: z.object({ address: textOrNull }).nullable().catch(null) }).catch({ from: null }),
});

export type IntakeItem = z.infer<typeof intakeItemSchema>;
export type ResolvedItem = z.infer<typeof resolvedItemSchema>;
export type Assignment = z.infer<typeof assignmentSchema>;
export type RoutedItem = z.infer<typeof routedItemSchema>;
export type TicketItem = z.infer<typeof ticketItemSchema>;
export type AnswerableItem = z.infer<typeof answerableItemSchema>;

/** Thrown when a node gets an item of the wrong shape; the message names every missing or wrong field. */
export class ItemShapeError extends Error {
	constructor(
		readonly expected: string,
		readonly problems: string[],
	) {
		super(`Expected ${expected}, but the item does not fit: ${problems.join('; ')}`);
		this.name = 'ItemShapeError';
	}
}

export function parseItem<T extends z.ZodTypeAny>(schema: T, expected: string, json: unknown): z.infer<T> {
	const result = schema.safeParse(json);
	if (result.success) return result.data;
	const problems = result.error.issues.map((issue) => {
		const field = issue.path.join('.') || '(item)';
		return issue.code === 'invalid_type' && issue.received === 'undefined' ? `missing field "${field}"` : `field "${field}": ${issue.message}`;
	});
	throw new ItemShapeError(expected, problems);
}
