import { randomUUID } from 'node:crypto';

import type { RecordMessageInput } from '../../../core/store/types';

/** An inbound message for recordMessage; each call gets a fresh Message-ID unless one is given. */
export function inbound(inboxId: string, contactId: string, overrides: Partial<RecordMessageInput> = {}): RecordMessageInput {
	return {
		inboxId,
		contactId,
		direction: 'in',
		messageId: `<${randomUUID()}@mail.example.test>`,
		inReplyTo: [],
		references: [],
		from: 'ann@customer.example.test',
		to: ['support@inbox.example.test'],
		cc: [],
		subject: 'Order 1234 arrived broken',
		text: 'The box was crushed.',
		html: null,
		size: 1200,
		receivedAt: new Date().toISOString(),
		authSummary: 'dmarc=pass',
		originalSenderMethod: 'from-header',
		...overrides,
	};
}

/** A unique address per call, so tests sharing one store never collide. */
export function uniqueEmail(prefix: string, domain = 'customer.example.test'): string {
	return `${prefix}.${randomUUID().slice(0, 8)}@${domain}`;
}
